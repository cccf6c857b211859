package bundle

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/textscan"
)

// This file holds the reflection-free encoder of every record type, driven by the table's
// plan (plan.go): it appends exactly the bytes json.Marshal gives (field order of the record
// struct, omitempty, HTML-safe strings, time.Time.MarshalJSON's RFC 3339, json.RawMessage
// validated and compacted with HTML escaping as encoding/json does). Whatever it cannot vouch
// for (a time json.Marshal refuses, a payload that is not plainly valid JSON, a nil record, a
// type that is no table's) returns ok=false and AppendRecordJSON takes json.Marshal.
// FuzzEncodeEquivalence checks the equivalence.

// appendRecordFast appends r's line to dst; ok=false (dst unchanged) leaves r to json.Marshal.
// valid says r's strings are known to be valid UTF-8 (appendStr).
func appendRecordFast(dst []byte, r actingweb.Record, valid bool) ([]byte, bool) {
	p, base := planOfRecord(r)
	if p == nil {
		return dst, false
	}
	n0 := len(dst)
	ok := true
	for i := range p.fields {
		f := &p.fields[i]
		ptr := unsafe.Add(base, f.off)
		switch f.kind {
		case actingweb.KindString:
			dst = appendStr(appendKey(dst, f), valid, *(*string)(ptr))
		case actingweb.KindOptString:
			if v := *(**string)(ptr); v != nil {
				dst = appendStr(appendKey(dst, f), valid, *v)
			}
		case actingweb.KindBool:
			dst = appendKey(dst, f)
			if *(*bool)(ptr) {
				dst = append(dst, "true"...)
			} else {
				dst = append(dst, "false"...)
			}
		case actingweb.KindInt64:
			dst = strconv.AppendInt(appendKey(dst, f), *(*int64)(ptr), 10)
		case actingweb.KindOptInt64:
			if v := *(**int64)(ptr); v != nil {
				dst = strconv.AppendInt(appendKey(dst, f), *v, 10)
			}
		case actingweb.KindTime:
			dst, ok = appendTime(appendKey(dst, f), *(*time.Time)(ptr))
		case actingweb.KindOptTime:
			if v := *(**time.Time)(ptr); v != nil {
				dst, ok = appendTime(appendKey(dst, f), *v)
			}
		case actingweb.KindJSON:
			if v := *(*json.RawMessage)(ptr); len(v) > 0 { // omitempty: length 0 is left out
				dst, ok = appendPayload(appendKey(dst, f), valid, v)
			}
		default:
			ok = false
		}
		if !ok {
			return dst[:n0], false
		}
	}
	if len(dst) == n0 {
		return append(dst, "{}"...), true
	}
	dst[n0] = '{' // the first key's comma
	return append(dst, '}'), true
}

// appendKey appends f's key: the whole padded array is copied (no call, unlike a copy of a
// length known only at run time), then dst is cut to the key's length.
func appendKey(dst []byte, f *planField) []byte {
	n := len(dst)
	if cap(dst)-n < maxKey {
		dst = slices.Grow(dst, maxKey)
	}
	dst = dst[:n+maxKey]
	*(*[maxKey]byte)(dst[n:]) = f.key
	return dst[:n+f.keyLen]
}

// appendTime appends t quoted as time.Time.MarshalJSON writes it (both use the strict RFC
// 3339 form of AppendText); ok=false for the times MarshalJSON refuses.
func appendTime(dst []byte, t time.Time) ([]byte, bool) {
	out, err := t.AppendText(append(dst, '"'))
	if err != nil {
		return dst, false
	}
	return append(out, '"'), true
}

// appendPayload is appendCompactJSON (valid: src is known to be valid JSON,
// WriterOptions.Validated; the same bytes either way).
func appendPayload(dst []byte, _ bool, src []byte) ([]byte, bool) {
	return appendCompactJSON(dst, src)
}

// appendCompactJSON appends src as encoding/json writes a json.RawMessage: validated, then
// compacted (whitespace outside strings dropped) with '<', '>', '&', U+2028 and U+2029 in
// strings escaped. ok=false (dst unchanged) for anything it does not take: invalid JSON,
// nesting deeper than maxFastDepth.
func appendCompactJSON(dst, src []byte) ([]byte, bool) {
	n0 := len(dst)
	dst, i, ok := appendCompactValue(dst, src, skipSpace(src, 0), 0)
	if !ok || skipSpace(src, i) != len(src) {
		return dst[:n0], false
	}
	return dst, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// appendCompactValue appends the JSON value at src[i] compacted and returns the index after
// it in src.
func appendCompactValue(dst, src []byte, i, depth int) ([]byte, int, bool) {
	if i >= len(src) {
		return dst, 0, false
	}
	switch c := src[i]; {
	case c == '"':
		return appendCompactString(dst, src, i)
	case c == '{' || c == '[':
		if depth >= maxFastDepth {
			return dst, 0, false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		dst = append(dst, c)
		i = skipSpace(src, i+1)
		if i < len(src) && src[i] == end {
			return append(dst, end), i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(src) || src[i] != '"' {
					return dst, 0, false
				}
				if dst, i, ok = appendCompactString(dst, src, i); !ok {
					return dst, 0, false
				}
				if i = skipSpace(src, i); i >= len(src) || src[i] != ':' {
					return dst, 0, false
				}
				dst = append(dst, ':')
				i = skipSpace(src, i+1)
			}
			if dst, i, ok = appendCompactValue(dst, src, i, depth+1); !ok {
				return dst, 0, false
			}
			if i = skipSpace(src, i); i >= len(src) {
				return dst, 0, false
			}
			switch src[i] {
			case ',':
				dst = append(dst, ',')
				i = skipSpace(src, i+1)
			case end:
				return append(dst, end), i + 1, true
			default:
				return dst, 0, false
			}
		}
	}
	var j int
	var ok bool
	switch c := src[i]; {
	case c == 't':
		j, ok = skipLiteral(src, i, "true")
	case c == 'f':
		j, ok = skipLiteral(src, i, "false")
	case c == 'n':
		j, ok = skipLiteral(src, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		j, ok = skipNumber(src, i)
	}
	if !ok {
		return dst, 0, false
	}
	return append(dst, src[i:j]...), j, true
}

// compactPlainByte marks the bytes appendCompactString copies without a look: all but control
// characters, '"', '\\', '<', '>', '&' and 0xE2 (the lead byte of U+2028 and U+2029).
var compactPlainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x100; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' && c != 0xE2
	}
	return t
}()

// appendCompactString appends the string literal at src[i] (checked as skipRawString checks
// it) with '<', '>', '&', U+2028 and U+2029 escaped, as encoding/json's compaction does.
func appendCompactString(dst, src []byte, i int) ([]byte, int, bool) {
	start := i
	for j := i + 1; j < len(src); j++ {
		for j < len(src) && compactPlainByte[src[j]] {
			j++
		}
		if j >= len(src) {
			break
		}
		c := src[j]
		switch {
		case c == '"':
			return append(dst, src[start:j+1]...), j + 1, true
		case c < 0x20:
			return dst, 0, false
		case c == '\\':
			if j+1 >= len(src) {
				return dst, 0, false
			}
			switch src[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if textscan.Hex4(src[j+2:]) < 0 {
					return dst, 0, false
				}
				j += 5
			default:
				return dst, 0, false
			}
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, src[start:j]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = j + 1
		case c == 0xE2 && j+2 < len(src) && src[j+1] == 0x80 && src[j+2]&^1 == 0xA8:
			dst = append(dst, src[start:j]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[j+2]&0xF])
			j += 2
			start = j + 1
		}
	}
	return dst, 0, false
}
