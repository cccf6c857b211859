package bundle

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
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

// appendPayload appends src as encoding/json writes a json.RawMessage: validated, then
// compacted (whitespace outside strings dropped) with '<', '>', '&', U+2028 and U+2029 in
// strings escaped (jsonscan.AppendCompact). ok=false (dst unchanged) for anything it does not
// take: invalid JSON, nesting deeper than maxFastDepth. valid (src is known to be valid JSON,
// WriterOptions.Validated) changes nothing: the same bytes either way.
func appendPayload(dst []byte, _ bool, src []byte) ([]byte, bool) {
	out, err := jsonscan.AppendCompact(dst, src, maxFastDepth)
	return out, err == nil
}
