package actingweb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"time"
)

// PynamoDBTimeLayout is the fixed-width 31-character UTCDateTimeAttribute format of PynamoDB
// 6.1.0 (§3.2): six fractional digits and the literal suffix +0000, always UTC. Format it in
// time.UTC.
const PynamoDBTimeLayout = "2006-01-02T15:04:05.000000-0700"

// FormatPynamoDBTime renders t as PynamoDB writes it (§3.2), e.g.
// "2025-01-15T10:30:00.000000+0000".
func FormatPynamoDBTime(t time.Time) string { return t.UTC().Format(PynamoDBTimeLayout) }

// ParsePynamoDBTime parses the 31-character PynamoDB timestamp; any other shape is an error
// wrapping ErrInvalid (PynamoDB itself raises on it, §3.2).
func ParsePynamoDBTime(s string) (time.Time, error) {
	if len(s) != 31 {
		return time.Time{}, fmt.Errorf("%w: timestamp %q is not PynamoDB's 31-character form", ErrInvalid, s)
	}
	if s[26:] != "+0000" {
		return time.Time{}, fmt.Errorf("%w: timestamp %q does not end in PynamoDB's literal +0000", ErrInvalid, s)
	}
	t, err := time.Parse(PynamoDBTimeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: timestamp %q: %v", ErrInvalid, s, err)
	}
	return t.UTC(), nil
}

// NormalizeTime returns t in UTC truncated to microseconds, the precision both backends keep.
func NormalizeTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func normalizeTimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := NormalizeTime(*t)
	return &n
}

// LookupKey is the DynamoDB v2 property lookup hash key (§3.5): lowercase hex SHA-256 of the
// UTF-8 bytes of name, one 0x00 byte, and value exactly as stored. The format is permanent.
func LookupKey(name, value string) string {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

// CanonicalJSON returns the semantic normal form of a JSON document, the equality PostgreSQL
// jsonb keeps (§5.5 item 4): object keys sorted, the last of duplicate keys kept, no
// insignificant whitespace, numbers compared by value (1.0 == 1, 1e2 == 100), strings
// re-escaped uniformly. It fails with ErrInvalid on text that is not JSON (NaN, Infinity, ...).
func CanonicalJSON(raw []byte) ([]byte, error) {
	out, err := canonicalJSONFast(raw)
	if errors.Is(err, errFastDeep) {
		return canonicalJSONSlow(raw)
	}
	return out, err
}

// canonicalJSONSlow is the reference implementation of CanonicalJSON (encoding/json decode
// into any, then writeCanonical): canonicalJSONFast must give the same bytes and fail on the
// same inputs. CanonicalJSON uses it for documents nested too deep for the fast path.
func canonicalJSONSlow(raw []byte) ([]byte, error) {
	// json.Valid first: Decoder.More does not see a stray trailing ']' or '}'.
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: JSON payload is not valid JSON (NaN, Infinity, trailing data, ...)", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: JSON payload: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: JSON payload has trailing data", ErrInvalid)
	}
	var b bytes.Buffer
	if err := writeCanonical(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCanonical(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteByte(':')
			if err := writeCanonical(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeCanonical(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return fmt.Errorf("%w: JSON number %q", ErrInvalid, v)
		}
		b.WriteString(canonicalNumber(r))
	default:
		eb, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		b.Write(eb)
	}
	return nil
}

// canonicalNumber renders the value of a JSON number as JSON: integers as plain digits,
// other values as their exact decimal expansion with no trailing zeros ("0.1", "-2.5"), or in
// exponent form ("125e-300") when that expansion would exceed 100 fractional digits. A JSON
// number is a finite decimal, so its denominator only has the prime factors 2 and 5 and the
// expansion is exact.
func canonicalNumber(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	a, b, ok := decimalFactors(r.Denom())
	if !ok {
		// Not a finite decimal (cannot come from JSON text); fall back to the fraction.
		return r.RatString()
	}
	n := max(a, b)
	// mant = num * 10^n / denom, an integer; value = mant * 10^-n, mant not divisible by 10.
	mant := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	mant.Quo(mant, r.Denom())
	if n > 100 {
		return mant.String() + "e-" + fmt.Sprint(n)
	}
	neg := mant.Sign() < 0
	digits := new(big.Int).Abs(mant).String()
	for len(digits) <= n {
		digits = "0" + digits
	}
	out := digits[:len(digits)-n] + "." + digits[len(digits)-n:]
	if neg {
		out = "-" + out
	}
	return out
}

// decimalFactors returns a and b with den == 2^a * 5^b, or ok false when den has another
// prime factor. It takes time near-linear in den's size (dividing by 2 and 5 one at a time,
// as this did before, took seconds for 1e-99999).
func decimalFactors(den *big.Int) (a, b int, ok bool) {
	if den.Sign() <= 0 {
		return 0, 0, false
	}
	a = int(den.TrailingZeroBits())
	d := new(big.Int).Rsh(den, uint(a))
	if d.BitLen() == 1 { // d == 1
		return a, 0, true
	}
	// 5^b has floor(b*log2(5))+1 bits, and consecutive powers of 5 differ by more than two
	// bits, so d's bit length leaves at most one candidate b; check b's neighbours too
	// against floating-point rounding.
	guess := int(float64(d.BitLen()-1) / math.Log2(5))
	var p big.Int
	for b := max(guess-1, 1); b <= guess+2; b++ {
		if p.Exp(big.NewInt(5), big.NewInt(int64(b)), nil).Cmp(d) == 0 {
			return a, b, true
		}
	}
	return 0, 0, false
}

// Canonical returns a copy of r normalised for comparison across backends, applying exactly
// the conversions that lose nothing a reader can observe (§5.3, §5.5), field by field from the
// table model: timestamps in UTC at microsecond precision; JSON payloads in CanonicalJSON form
// (JSON null as absent, as DynamoDB stores it); fields DynamoDB does not store dropped
// (actors.created_at, lookup values: DynamoDB keeps only the digest); nil == "" where DynamoDB
// writes nil as "" (trust desc and verification_token) and "" == absent where DynamoDB drops
// empty strings (optional subscription strings). An attribute payload that is not JSON is kept
// as it is, so it compares unequal to anything but itself. A record of no table model is
// returned as it is.
func Canonical(r Record) Record {
	if r == nil {
		return nil
	}
	m := Model(r.Table())
	if m == nil {
		return r
	}
	c := m.clone(r)
	for i := range m.Fields {
		f := &m.Fields[i]
		switch p := f.Ptr(c).(type) {
		case **string:
			switch f.DynamoDB {
			case DynamoDBNone:
				*p = nil
			case DynamoDBNilAsEmpty:
				*p = emptyIfNil(*p)
			case DynamoDBEmptyAbsent:
				*p = nilIfEmpty(*p)
			}
		case *time.Time:
			*p = NormalizeTime(*p)
		case **time.Time:
			if f.DynamoDB == DynamoDBNone {
				*p = nil
			} else {
				*p = normalizeTimePtr(*p)
			}
		case *json.RawMessage:
			if *p != nil {
				if j, err := CanonicalJSON(*p); err == nil {
					*p = j
				}
				if string(*p) == "null" {
					*p = nil
				}
			}
		}
	}
	return c
}

func emptyIfNil(s *string) *string {
	if s == nil {
		e := ""
		return &e
	}
	return s
}

func nilIfEmpty(s *string) *string {
	if s != nil && *s == "" {
		return nil
	}
	return s
}

// SecretFields names, per table, the JSON fields that hold secrets (Field.Secret of the table
// models). Their values never appear in logs, reports or difference listings: only the fact
// that they differ.
var SecretFields = map[Table]map[string]bool{}

func init() {
	for t, m := range models {
		for _, f := range m.Fields {
			if f.Secret {
				if SecretFields[t] == nil {
					SecretFields[t] = map[string]bool{}
				}
				SecretFields[t][f.Name] = true
			}
		}
	}
}

// SecretAttributeWords are the words that mark an attribute row as holding a secret in its
// data: upstream keeps OAuth access and refresh tokens, authorization codes, client
// registrations (client secrets), sessions, nonces and verification tokens in attribute
// buckets (e.g. _access_token_index, _refresh_token_index, _auth_code_index, _client_index,
// _oauth_sessions, _oauth_state_nonces, _apple_exchange_tickets, _email_verify_tokens,
// spa_access_tokens, spa_refresh_tokens; names such as oauth_tokens:<peer> in _internal; the
// global owner _actingweb_oauth2; docs/storage-model.md §6.13). See SecretAttribute.
var SecretAttributeWords = []string{"token", "auth", "secret", "passw", "passphrase", "credential",
	"session", "nonce", "ticket", "client", "key", "cookie", "jwt", "bearer"}

// SecretAttribute reports whether the data of the attribute row (owner id, bucket, name) may
// hold a secret and so must never be shown: when the owner id, the bucket or the name
// contains one of SecretAttributeWords, case-insensitively ("oauth" is covered by "auth").
// The rule errs on the safe side: a bucket named "author" is hidden too.
func SecretAttribute(owner, bucket, name string) bool {
	for _, s := range [...]string{bucket, name, owner} {
		l := strings.ToLower(s)
		for _, w := range SecretAttributeWords {
			if strings.Contains(l, w) {
				return true
			}
		}
	}
	return false
}

// secretData reports whether field name of records a and b must be hidden beyond
// SecretFields: attribute data in a secret-bearing row (SecretAttribute) on either side.
func secretData(a, b Record, name string) bool {
	if name != "data" {
		return false
	}
	for _, r := range [...]Record{a, b} {
		if at, ok := r.(*Attribute); ok && SecretAttribute(at.ID, at.Bucket, at.Name) {
			return true
		}
	}
	return false
}

// FieldDiff is one field that differs between two records of the same key.
type FieldDiff struct {
	Field string // JSON field name
	// A and B are the rendered values ("<absent>" for nil), safe to print (Printable): strings
	// quoted as Go does, JSON payloads with their control, line-separator and bidirectional
	// formatting characters escaped. Secret fields (SecretFields, and attribute data of
	// SecretAttribute rows) are "<secret>" on both sides: that they differ, never a value.
	A, B string
}

// CompareRecords compares the canonical forms of a and b field by field and returns the fields
// that differ, in the order of the table model. Both must be records of the same table.
func CompareRecords(a, b Record) []FieldDiff {
	ca, cb := Canonical(a), Canonical(b)
	m := Model(a.Table())
	var out []FieldDiff
	for i := range m.Fields {
		f := &m.Fields[i]
		x, y := renderField(f.Ptr(ca)), renderField(f.Ptr(cb))
		if x == y {
			continue
		}
		if f.Secret || secretData(a, b, f.Name) {
			x, y = "<secret>", "<secret>"
		}
		out = append(out, FieldDiff{Field: f.Name, A: x, B: y})
	}
	return out
}

// renderField renders the field p points to (Field.Ptr) for FieldDiff.
func renderField(p any) string {
	v := reflect.ValueOf(p).Elem()
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<absent>"
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case json.RawMessage:
		if x == nil {
			return "<absent>"
		}
		return Printable(string(x))
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprint(v.Interface())
}
