package bundle

import (
	"encoding/json"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// AppendRecordJSON appends r's bundle line (without the newline) to dst: exactly the bytes
// json.Marshal(r) gives. Every record type is encoded without reflection from its table's
// plan (appendRecordFast, plan.go); what that encoder does not vouch for (a time or payload
// json.Marshal may refuse) goes through json.Marshal. The error is json.Marshal's.
func AppendRecordJSON(dst []byte, r actingweb.Record) ([]byte, error) {
	return appendRecordJSON(dst, r, false)
}

// appendRecordJSON is AppendRecordJSON; valid says r's strings are known to be valid UTF-8
// and its payload valid JSON (WriterOptions.Validated), which changes the speed, never the
// bytes.
func appendRecordJSON(dst []byte, r actingweb.Record, valid bool) ([]byte, error) {
	if out, ok := appendRecordFast(dst, r, valid); ok {
		return out, nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendStr appends s as a JSON string exactly as encoding/json encodes a string
// (jsonscan.AppendQuote); when valid (s is known to be valid UTF-8, from a source that
// guarantees it: a PostgreSQL database whose server encoding is UTF8 refuses any other text,
// WriterOptions.Validated) without the UTF-8 check (jsonscan.AppendQuoteValid): the same
// bytes either way, as long as the promise holds.
func appendStr(dst []byte, valid bool, s string) []byte {
	if valid {
		return jsonscan.AppendQuoteValid(dst, s)
	}
	return jsonscan.AppendQuote(dst, s)
}
