package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// Row validation against PostgreSQL's limits (docs/storage-model.md §9.2), run on every row
// before a batch is written, so a row PostgreSQL would refuse becomes a Reject instead of
// aborting the batch (§7.2 I6, I9). Reasons name the column and the limit, never the value.

// Size limits of the schema at head beyond the column types (§4.2, §9.2).
const (
	// MaxLookupEntryBytes bounds octet_length(property_name) + octet_length(value) of a
	// property_lookup row. The B-tree entry of the primary key may hold at most about 2704 bytes
	// (§9.2); 2600 leaves room for the tuple and varlena headers whatever the compression.
	MaxLookupEntryBytes = 2600
)

// PostgreSQL's timestamp range is 4713 BC to 294276 AD; Go's time.Time covers more.
var (
	minPGTime = time.Date(-4712, 1, 1, 0, 0, 0, 0, time.UTC)
	maxPGTime = time.Date(294276, 12, 31, 23, 59, 59, 0, time.UTC)
)

// checker accumulates the reasons a row cannot be stored. quick skips the content checks
// PostgreSQL makes itself: UTF-8 and NUL in unlimited text columns, jsonb payloads (see
// checkRecord).
type checker struct {
	reasons []string
	quick   bool
}

func (c *checker) fail(format string, args ...any) {
	c.reasons = append(c.reasons, fmt.Sprintf(format, args...))
}

// text checks a text/varchar value: valid UTF-8, no NUL character, at most max characters
// (max 0 = unlimited, text columns).
func (c *checker) text(col, v string, max int) {
	if c.quick && max == 0 {
		return
	}
	if !textOK(v) { // rare: the checks that name the problem
		if strings.IndexByte(v, 0) >= 0 {
			c.fail("%s contains a NUL character (PostgreSQL text cannot hold U+0000)", col)
		}
		if !utf8.ValidString(v) {
			c.fail("%s is not valid UTF-8", col)
			return
		}
	}
	if max > 0 && len(v) > max {
		if n := utf8.RuneCountInString(v); n > max {
			c.fail("%s is %d characters long, the column is varchar(%d)", col, n, max)
		}
	}
}

// textOK reports whether s is valid UTF-8 without a NUL character (jsonscan.ValidText).
func textOK(s string) bool { return jsonscan.ValidText(s) }

// key checks a primary-key part: a non-empty text value.
func (c *checker) key(col, v string, max int) {
	if v == "" {
		c.fail("%s (primary key) is empty", col)
		return
	}
	c.text(col, v, max)
}

// opt checks a nullable text value.
func (c *checker) opt(col string, v *string, max int) {
	if v != nil {
		c.text(col, *v, max)
	}
}

// int32 checks an integer column.
func (c *checker) int32(col string, v int64) {
	if v < math.MinInt32 || v > math.MaxInt32 {
		c.fail("%s = %d is outside PostgreSQL integer range (-2147483648..2147483647)", col, v)
	}
}

// time checks a timestamp against PostgreSQL's range.
func (c *checker) time(col string, t *time.Time) {
	if t != nil && (t.Before(minPGTime) || t.After(maxPGTime)) {
		c.fail("%s is outside PostgreSQL's timestamp range", col)
	}
}

// jsonb checks an attribute payload: JSON that jsonb accepts (§5.2, §9.2).
func (c *checker) jsonb(col string, raw json.RawMessage) {
	if raw == nil || c.quick {
		return
	}
	if reason := jsonbProblem(raw); reason != "" {
		c.fail("%s %s", col, reason)
	}
}

// jsonbProblem returns why raw cannot be stored in a jsonb column, or "": not valid JSON
// (NaN, Infinity, -Infinity, trailing data, ...), invalid UTF-8, a \u0000 escape or an unpaired
// surrogate escape inside a string (PostgreSQL rejects both).
func jsonbProblem(raw []byte) string {
	if jsonbOK(raw) {
		return ""
	}
	return jsonbProblemSlow(raw)
}

// jsonbProblemSlow is jsonbProblem in three passes (utf8.Valid, json.Valid, a walk over the
// strings' escapes); it names the problem. jsonbOK is the one-pass test that it finds none
// (FuzzJSONBOK proves jsonbOK(raw) == (jsonbProblemSlow(raw) == "")).
func jsonbProblemSlow(raw []byte) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	if !json.Valid(raw) {
		return "is not valid JSON (NaN/Infinity are not JSON)"
	}
	// The text is valid JSON: walk the strings' escapes.
	inString := false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		if !inString {
			if b == '"' {
				inString = true
			}
			continue
		}
		switch b {
		case '"':
			inString = false
		case '\\':
			i++
			if raw[i] != 'u' {
				continue
			}
			r := jsonscan.Hex4(raw[i+1 : i+5])
			i += 4
			switch {
			case r == 0:
				return "contains a \\u0000 escape (jsonb cannot store U+0000)"
			case r >= 0xDC00 && r <= 0xDFFF:
				return "contains an unpaired low surrogate escape"
			case r >= 0xD800 && r <= 0xDBFF:
				if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
					return "contains an unpaired high surrogate escape"
				}
				if lo := jsonscan.Hex4(raw[i+3 : i+7]); lo < 0xDC00 || lo > 0xDFFF {
					return "contains an unpaired high surrogate escape"
				}
				i += 6
			}
		}
	}
	return ""
}

// jsonbMaxDepth bounds the nesting jsonbOK follows; deeper documents take the slow path
// (encoding/json's own limit is 10000).
const jsonbMaxDepth = 512

// jsonbOK reports, in one pass (jsonscan.Check), that raw is one JSON value (RFC 8259
// grammar, whitespace around it allowed, as json.Valid), valid UTF-8 throughout, and that its
// strings hold no \u0000 escape and no unpaired surrogate escape. false only means "look
// closer": documents nested deeper than jsonbMaxDepth are not followed.
func jsonbOK(raw []byte) bool {
	f, err := jsonscan.Check(raw, jsonscan.CheckUTF8, jsonbMaxDepth)
	return err == nil && f&(jsonscan.Invalid|jsonscan.NulEscape|jsonscan.LoneSurrogate) == 0
}

// isJSONNull reports a payload that is the JSON literal null (stored as SQL NULL, §5.3).
func isJSONNull(raw json.RawMessage) bool {
	return raw != nil && string(bytes.TrimSpace(raw)) == "null"
}

// CheckRecord returns why PostgreSQL cannot store r (every reason, joined by "; "), or "" when
// it can: varchar limits counted in characters, NUL characters and invalid UTF-8 in any text,
// empty primary-key parts (subscription_suspensions.subtarget may be empty) and owners,
// integer range, timestamp range, jsonb-compatible payloads, property_lookup rows without a
// value or too large for the primary-key B-tree (§9.2). The checks of a column follow from its
// field in the table model (specs.go). Orphan lookup rows (no actors row) are found by
// WriteBatch, which needs the database.
func CheckRecord(r actingweb.Record) string {
	if r == nil {
		return "nil record"
	}
	sp, ok := specs[r.Table()]
	if !ok {
		return fmt.Sprintf("unsupported record type %T", r)
	}
	return sp.checkRecord(r, false)
}

// checkRecord is CheckRecord for a record of the table; quick leaves out what PostgreSQL
// checks itself as it receives the row, over most of a row's bytes: the UTF-8 and NUL check of
// text columns without a length limit (property values, passphrases, diffs, base URIs) and the
// jsonb check of attribute payloads. PostgreSQL refuses each of these with an error of
// SQLSTATE class 22 (22021 invalid byte sequence, 22P02 invalid JSON or unpaired surrogate,
// 22P05 \u0000), so a batch holding one fails its COPY and WriteBatch checks it again in full
// (isDataException); TestWriteBatchRejects proves each case. Keys, varchar columns (whose
// limit counts characters), integers and timestamps are checked either way.
func (sp *tableSpec) checkRecord(r actingweb.Record, quick bool) string {
	if r == nil {
		return "nil record"
	}
	if reflect.TypeOf(r) != sp.typ { // a type word comparison
		return fmt.Sprintf("unsupported record type %T", r)
	}
	c := checker{quick: quick}
	b := sp.base(r)
	for i := range sp.columns {
		col := &sp.columns[i]
		if col.hooked {
			continue
		}
		switch p := unsafe.Add(b, col.off); col.codec {
		case codecText:
			if col.required {
				c.key(col.name, *(*string)(p), col.maxLen)
			} else {
				c.text(col.name, *(*string)(p), col.maxLen)
			}
		case codecOptText:
			c.opt(col.name, *(**string)(p), col.maxLen)
		case codecInt4:
			c.int32(col.name, *(*int64)(p))
		case codecTime:
			c.time(col.name, (*time.Time)(p))
		case codecOptTime:
			c.time(col.name, *(**time.Time)(p))
		case codecJSONB:
			c.jsonb(col.name, *(*json.RawMessage)(p))
		}
	}
	if sp.check != nil {
		c.reasons = sp.check(r, quick, c.reasons)
	}
	return strings.Join(c.reasons, "; ")
}

// checkLookupValue checks property_lookup.value (the table's check hook): rows read from
// DynamoDB have none (only its digest), and the primary-key B-tree bounds name and value
// together (§5.4, §9.2).
func checkLookupValue(rec actingweb.Record, quick bool, reasons []string) []string {
	r := rec.(*actingweb.PropertyLookup)
	c := checker{reasons: reasons, quick: quick}
	if r.Value == nil {
		c.fail("value is unknown (DynamoDB keeps only the digest); rebuild the lookup table from properties with RebuildPropertyLookup")
		return c.reasons
	}
	c.key("value", *r.Value, 0)
	if n := len(r.PropertyName) + len(*r.Value); n > MaxLookupEntryBytes {
		c.fail("property_name + value are %d bytes, more than the %d a primary-key B-tree entry can hold", n, MaxLookupEntryBytes)
	}
	return c.reasons
}
