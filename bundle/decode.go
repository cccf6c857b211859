package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unsafe"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// DecodeRecord decodes one canonical record of table t from a JSON object (one bundle line):
// invalid UTF-8 anywhere in the line (never replaced by U+FFFD), unknown fields, wrong types
// and missing required fields (empty id or key parts, zero required timestamps) are errors
// wrapping actingweb.ErrInvalid. When only required fields are missing, the decoded record is
// returned with the error (for the reject's key).
func DecodeRecord(t actingweb.Table, line []byte) (actingweb.Record, error) {
	return decodeRecord(t, line, nil)
}

// decodeRecord is DecodeRecord with the reader's decoder state d (nil: none). Every line of
// a bundle passes here, so the UTF-8 check covers the fast and the encoding/json paths.
func decodeRecord(t actingweb.Table, line []byte, d *lineDecoder) (actingweb.Record, error) {
	if err := checkUTF8(line); err != nil {
		return nil, err
	}
	p := planOf(t)
	if p == nil {
		return nil, fmt.Errorf("%w: %q", actingweb.ErrUnknownTable, t)
	}
	if r, base, ok := p.decodeLine(line, d); ok {
		if err := requiredErr(p.missingRequired(base)); err != nil {
			return r, err // the record is returned for the reject's key
		}
		return r, nil
	}
	r := p.model.New()
	if err := decodeGeneric(r, line); err != nil {
		return nil, err
	}
	if err := CheckRequired(r); err != nil {
		return r, err // the record is returned for the reject's key
	}
	return r, nil
}

// decodeGeneric decodes line into r with encoding/json, unknown fields and trailing data
// refused (errors wrap actingweb.ErrInvalid); required fields are not checked.
func decodeGeneric(r actingweb.Record, line []byte) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return fmt.Errorf("%w: %s", actingweb.ErrInvalid, jsonErr(err))
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON object", actingweb.ErrInvalid)
	}
	return nil
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q: JSON %s cannot be a %s", te.Field, te.Value, te.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "bad JSON: the line ends inside a value (truncated?)"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("bad JSON at byte %d: %v", se.Offset, err)
	}
	return err.Error()
}

// CheckRequired returns an error wrapping actingweb.ErrInvalid when r lacks a field every
// backend needs (the model's required fields, actingweb.Field.Required): the owner id and
// the key parts (non-empty), required timestamps (non-zero). Records of no table pass.
func CheckRequired(r actingweb.Record) error {
	p, base := planOfRecord(r)
	if p == nil {
		return nil
	}
	return requiredErr(p.missingRequired(base))
}

func requiredErr(missing []string) error {
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing or empty required field(s) %s", actingweb.ErrInvalid, strings.Join(missing, ", "))
	}
	return nil
}

// upstreamRenames maps upstream export field names to bundle names, per table (§7.2 I1, I4).
var upstreamRenames = map[actingweb.Table]map[string]string{
	actingweb.TableTrusts:       {"desc_text": "desc", "actor_id": "id"},
	actingweb.TablePeerTrustees: {"peer_type": "type", "actor_id": "id"},
}

// upstreamDropped are derived upstream fields that carry nothing the record lacks.
var upstreamDropped = map[actingweb.Table]map[string]bool{
	actingweb.TableSubscriptionSuspensions: {"target_key": true},
}

var upstreamTimeLayouts = []string{
	time.RFC3339Nano,
	actingweb.PynamoDBTimeLayout,
	"2006-01-02 15:04:05.999999-07:00",
	"2006-01-02 15:04:05-07:00",
	"2006-01-02 15:04:05.999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.999999",
}

// decodeUpstream decodes one element of an upstream <table>.json array: field names are mapped
// to bundle names (desc_text → desc, peer_type → type, actor_id → id), derived fields dropped,
// Python timestamps (naive = UTC) converted; anything left unknown is an error, as is invalid
// UTF-8 (the offset is then within the element).
func decodeUpstream(t actingweb.Table, raw []byte) (actingweb.Record, error) {
	if err := checkUTF8(raw); err != nil { // before json.Unmarshal replaces it in names
		return nil, err
	}
	m := actingweb.Model(t) // nil for an unknown table: DecodeRecord words the error
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("%w: %s", actingweb.ErrInvalid, jsonErr(err))
	}
	out := make(map[string]json.RawMessage, len(obj))
	for k, v := range obj {
		if upstreamDropped[t][k] {
			continue
		}
		if n, ok := upstreamRenames[t][k]; ok {
			k = n
		}
		if string(v) == "null" {
			continue
		}
		// timestamps may be in Python's str(datetime) or PynamoDB form
		if f := modelField(m, k); f != nil && (f.Kind == actingweb.KindTime || f.Kind == actingweb.KindOptTime) {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				tm, err := parseUpstreamTime(s)
				if err != nil {
					return nil, fmt.Errorf("%w: field %q: %v", actingweb.ErrInvalid, k, err)
				}
				v, _ = json.Marshal(tm)
			}
		}
		out[k] = v
	}
	for _, f := range modelFields(m) {
		if f.Kind != actingweb.KindJSON {
			continue
		}
		// upstream's to_simple_dict carries a payload (attributes.data) as JSON text; an
		// object or array in a string is taken as that JSON (§7.2 I6), other strings stay
		// strings.
		if d, ok := out[f.Name]; ok && len(d) > 0 && d[0] == '"' {
			var s string
			if json.Unmarshal(d, &s) == nil && (strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[")) && json.Valid([]byte(s)) {
				out[f.Name] = json.RawMessage(s)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", actingweb.ErrInvalid, err)
	}
	return DecodeRecord(t, b)
}

// modelField returns m's field named name, nil when m is nil or has none.
func modelField(m *actingweb.TableModel, name string) *actingweb.Field {
	if m == nil {
		return nil
	}
	return m.Field(name)
}

// modelFields returns m's fields, none when m is nil.
func modelFields(m *actingweb.TableModel) []actingweb.Field {
	if m == nil {
		return nil
	}
	return m.Fields
}

func parseUpstreamTime(s string) (time.Time, error) {
	for _, l := range upstreamTimeLayouts {
		if tm, err := time.Parse(l, s); err == nil {
			return tm.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is in no known form", s)
}

// unescapeJSON resolves the escape sequences of a JSON string's content exactly as
// encoding/json does (jsonscan.AppendUnquote: a \u surrogate that does not pair with the next
// \uXXXX becomes U+FFFD). raw must already be valid UTF-8 without control characters or
// unescaped quotes (scanString checks); a malformed escape returns ok=false.
func unescapeJSON(raw []byte) (string, bool) {
	// the result is never longer than raw (an escape of 2, 6 or 12 bytes gives 1 to 4)
	out, ok := jsonscan.AppendUnquote(make([]byte, 0, len(raw)), raw, 0)
	if !ok || len(out) == 0 {
		return "", ok
	}
	// out is never written again: the string shares its bytes instead of copying them
	return unsafe.String(&out[0], len(out)), true
}
