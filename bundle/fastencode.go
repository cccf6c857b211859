package bundle

import (
	"strconv"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/textscan"
)

// This file holds the reflection-free encoders of every record type: each appends exactly
// the bytes json.Marshal gives (field order of record.go, omitempty, HTML-safe strings,
// time.Time.MarshalJSON's RFC 3339, json.RawMessage validated and compacted with HTML
// escaping as encoding/json does). Whatever they cannot vouch for (a time json.Marshal
// refuses, a payload that is not plainly valid JSON) returns ok=false and AppendRecordJSON
// takes json.Marshal. FuzzEncodeEquivalence checks the equivalence.

// appendRecordFast appends r's line to dst; ok=false (dst unchanged) leaves r to json.Marshal.
// valid says r's strings are known to be valid UTF-8 (appendStr).
func appendRecordFast(dst []byte, r actingweb.Record, valid bool) ([]byte, bool) {
	n0 := len(dst)
	ok := true
	switch r := r.(type) {
	case *actingweb.Property:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"name":`...)
		dst = appendStr(dst, valid, r.Name)
		dst = append(dst, `,"value":`...)
		dst = appendStr(dst, valid, r.Value)
	case *actingweb.Actor:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"creator":`...)
		dst = appendStr(dst, valid, r.Creator)
		dst = append(dst, `,"passphrase":`...)
		dst = appendStr(dst, valid, r.Passphrase)
		dst, ok = appendTimePtr(dst, `,"created_at":`, r.CreatedAt)
	case *actingweb.PropertyLookup:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"property_name":`...)
		dst = appendStr(dst, valid, r.PropertyName)
		dst = appendStringPtr(dst, valid, `,"value":`, r.Value)
		dst = append(dst, `,"lookup_key":`...)
		dst = appendStr(dst, valid, r.LookupKey)
		dst = append(dst, `,"actor_id":`...)
		dst = appendStr(dst, valid, r.ActorID)
	case *actingweb.Attribute:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"bucket_name":`...)
		dst = appendStr(dst, valid, r.BucketName)
		dst = append(dst, `,"bucket":`...)
		dst = appendStr(dst, valid, r.Bucket)
		dst = append(dst, `,"name":`...)
		dst = appendStr(dst, valid, r.Name)
		if len(r.Data) > 0 { // omitempty: a slice of length 0 is left out
			dst = append(dst, `,"data":`...)
			dst, ok = appendPayload(dst, valid, r.Data)
		}
		if ok {
			dst, ok = appendTimePtr(dst, `,"timestamp":`, r.Timestamp)
		}
		if r.TTLTimestamp != nil {
			dst = append(dst, `,"ttl_timestamp":`...)
			dst = strconv.AppendInt(dst, *r.TTLTimestamp, 10)
		}
	case *actingweb.Trust:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"peerid":`...)
		dst = appendStr(dst, valid, r.PeerID)
		dst = append(dst, `,"baseuri":`...)
		dst = appendStr(dst, valid, r.BaseURI)
		dst = append(dst, `,"type":`...)
		dst = appendStr(dst, valid, r.Type)
		dst = append(dst, `,"relationship":`...)
		dst = appendStr(dst, valid, r.Relationship)
		dst = append(dst, `,"secret":`...)
		dst = appendStr(dst, valid, r.Secret)
		dst = appendStringPtr(dst, valid, `,"desc":`, r.Desc)
		dst = appendBool(dst, `,"approved":`, r.Approved)
		dst = appendBool(dst, `,"peer_approved":`, r.PeerApproved)
		dst = appendBool(dst, `,"verified":`, r.Verified)
		dst = appendStringPtr(dst, valid, `,"verification_token":`, r.VerificationToken)
		dst = appendStringPtr(dst, valid, `,"peer_identifier":`, r.PeerIdentifier)
		dst = appendStringPtr(dst, valid, `,"established_via":`, r.EstablishedVia)
		var ok1, ok2, ok3 bool
		dst, ok1 = appendTimePtr(dst, `,"created_at":`, r.CreatedAt)
		dst, ok2 = appendTimePtr(dst, `,"last_accessed":`, r.LastAccessed)
		dst = appendStringPtr(dst, valid, `,"last_connected_via":`, r.LastConnectedVia)
		dst = appendStringPtr(dst, valid, `,"client_name":`, r.ClientName)
		dst = appendStringPtr(dst, valid, `,"client_version":`, r.ClientVersion)
		dst = appendStringPtr(dst, valid, `,"client_platform":`, r.ClientPlatform)
		dst = appendStringPtr(dst, valid, `,"oauth_client_id":`, r.OAuthClientID)
		dst = appendStringPtr(dst, valid, `,"aw_supported":`, r.AWSupported)
		dst = appendStringPtr(dst, valid, `,"aw_version":`, r.AWVersion)
		dst, ok3 = appendTimePtr(dst, `,"capabilities_fetched_at":`, r.CapabilitiesFetchedAt)
		ok = ok1 && ok2 && ok3
	case *actingweb.PeerTrustee:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"peerid":`...)
		dst = appendStr(dst, valid, r.PeerID)
		dst = append(dst, `,"baseuri":`...)
		dst = appendStr(dst, valid, r.BaseURI)
		dst = append(dst, `,"type":`...)
		dst = appendStr(dst, valid, r.Type)
		dst = append(dst, `,"passphrase":`...)
		dst = appendStr(dst, valid, r.Passphrase)
	case *actingweb.Subscription:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"peer_sub_id":`...)
		dst = appendStr(dst, valid, r.PeerSubID)
		dst = append(dst, `,"peerid":`...)
		dst = appendStr(dst, valid, r.PeerID)
		dst = append(dst, `,"subid":`...)
		dst = appendStr(dst, valid, r.SubID)
		dst = appendStringPtr(dst, valid, `,"granularity":`, r.Granularity)
		dst = appendStringPtr(dst, valid, `,"target":`, r.Target)
		dst = appendStringPtr(dst, valid, `,"subtarget":`, r.Subtarget)
		dst = appendStringPtr(dst, valid, `,"resource":`, r.Resource)
		dst = append(dst, `,"seqnr":`...)
		dst = strconv.AppendInt(dst, r.Seqnr, 10)
		dst = appendBool(dst, `,"callback":`, r.Callback)
	case *actingweb.SubscriptionDiff:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"subid_seqnr":`...)
		dst = appendStr(dst, valid, r.SubIDSeqnr)
		dst = append(dst, `,"subid":`...)
		dst = appendStr(dst, valid, r.SubID)
		dst = append(dst, `,"timestamp":`...)
		dst, ok = appendTime(dst, r.Timestamp)
		dst = append(dst, `,"diff":`...)
		dst = appendStr(dst, valid, r.Diff)
		dst = append(dst, `,"seqnr":`...)
		dst = strconv.AppendInt(dst, r.Seqnr, 10)
	case *actingweb.SubscriptionSuspension:
		if r == nil {
			return dst, false
		}
		dst = append(dst, `{"id":`...)
		dst = appendStr(dst, valid, r.ID)
		dst = append(dst, `,"target":`...)
		dst = appendStr(dst, valid, r.Target)
		dst = append(dst, `,"subtarget":`...)
		dst = appendStr(dst, valid, r.Subtarget)
		dst = append(dst, `,"suspended_at":`...)
		dst, ok = appendTime(dst, r.SuspendedAt)
	default:
		return dst, false
	}
	if !ok {
		return dst[:n0], false
	}
	return append(dst, '}'), true
}

// appendStringPtr appends key and *p, nothing when p is nil (omitempty).
func appendStringPtr(dst []byte, valid bool, key string, p *string) []byte {
	if p == nil {
		return dst
	}
	dst = append(dst, key...)
	return appendStr(dst, valid, *p)
}

func appendBool(dst []byte, key string, v bool) []byte {
	dst = append(dst, key...)
	if v {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// appendTimePtr appends key and *p as appendTime does, nothing when p is nil (omitempty).
func appendTimePtr(dst []byte, key string, p *time.Time) ([]byte, bool) {
	if p == nil {
		return dst, true
	}
	return appendTime(append(dst, key...), *p)
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
