package dynamodb

// codec.go: canonical record <-> DynamoDB item, exactly as PynamoDB 6.1.0 writes the models of
// Python ActingWeb 3.14.0 (docs/storage-model.md §3.2-§3.12, mapping §5.3). The codec is driven
// by the table model (actingweb.Model, codecplan.go): each stored field is read and written by
// its Kind and DynamoDB form; the few facts the model does not describe (the lookup digest key,
// the suspension's derived target_key) are hooks in codecplan.go.
//
// Decisions (documented for the other engineers of the package):
//   - strings are S, booleans BOOL, numbers N in shortest decimal text, timestamps S in the
//     31-character PynamoDB form, attributes.data S holding Python-json.dumps-style text
//     (pythonJSON, DynamoDBPythonJSON); null/absent values are omitted, never written as NULL.
//   - reading is tolerant of what PynamoDB tolerates: absent booleans read false, absent
//     subscription seqnr 0, absent diff seqnr 1 (Field.Absent), absent required strings ""
//     (§5.3). Wrong attribute types, malformed timestamps, non-integral numbers and attribute
//     data that is not JSON (NaN, Infinity, ...) fail with ErrInvalid, which scans turn into
//     rejects; so does a key attribute that is missing or not S.
//   - an absent diff timestamp reads as the time of reading (§5.3: "if absent use the import
//     time"; Field.AbsentIsNow); such rows therefore compare unequal in a later validation. An
//     absent required timestamp without it (suspended_at) is ErrInvalid.
//   - attributes.data is read verbatim when it is strict JSON; text only Python's non-strict
//     parser accepts (raw control characters inside strings) is re-serialised to valid JSON.
//     JSON null reads as data "null" and is written as an absent attribute (PynamoDB omits None).
//   - trusts.desc and verification_token: nil is written as "" (PynamoDB requires them;
//     DynamoDBNilAsEmpty).
//   - subscription granularity/target/subtarget/resource: nil or "" is written absent
//     (DynamoDBEmptyAbsent).
//   - suspensions: target_key = TargetKey(); subtarget absent when ""; a stored target_key
//     that disagrees with target/subtarget is ErrInvalid (the row is unreachable upstream and
//     would change its key when copied).
//   - actors.created_at is dropped (PostgreSQL only); lookup items carry no value, so decoded
//     lookup records have Value nil (DynamoDBNone).

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// avS is a string attribute value.
func avS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// avN is a number attribute value in decimal text.
func avN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// avBool is a BOOL attribute value.
func avBool(b bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: b} }

// avTime is a PynamoDB UTCDateTimeAttribute value (31 characters, §3.2).
func avTime(t time.Time) types.AttributeValue { return avS(actingweb.FormatPynamoDBTime(t)) }

// getS reads string attribute name: ok=false when absent; an error wrapping ErrInvalid when
// present with another type.
func getS(item map[string]types.AttributeValue, name string) (string, bool, error) {
	v, ok := item[name]
	if !ok {
		return "", false, nil
	}
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value, true, nil
	case *types.AttributeValueMemberNULL:
		return "", false, nil
	}
	return "", false, fmt.Errorf("%w: attribute %s has type %s, want S", actingweb.ErrInvalid, name, avType(v))
}

// getN reads an integral number attribute: ok=false when absent. Text with a fraction that is
// not integral, or another type, is an error wrapping ErrInvalid. "12.0" and "1.2e1" read 12.
func getN(item map[string]types.AttributeValue, name string) (int64, bool, error) {
	v, ok := item[name]
	if !ok {
		return 0, false, nil
	}
	switch x := v.(type) {
	case *types.AttributeValueMemberN:
		n, err := parseIntegral(x.Value)
		if err != nil {
			return 0, false, fmt.Errorf("%w: attribute %s: %v", actingweb.ErrInvalid, name, err)
		}
		return n, true, nil
	case *types.AttributeValueMemberNULL:
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("%w: attribute %s has type %s, want N", actingweb.ErrInvalid, name, avType(v))
}

func parseIntegral(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("number %q is not an integer in int64 range", s)
	}
	return int64(f), nil
}

// getBool reads a BOOL attribute: ok=false when absent. PynamoDB 6 raises on any other type
// (e.g. an old N boolean), so do we (ErrInvalid).
func getBool(item map[string]types.AttributeValue, name string) (bool, bool, error) {
	v, ok := item[name]
	if !ok {
		return false, false, nil
	}
	switch x := v.(type) {
	case *types.AttributeValueMemberBOOL:
		return x.Value, true, nil
	case *types.AttributeValueMemberNULL:
		return false, false, nil
	}
	return false, false, fmt.Errorf("%w: attribute %s has type %s, want BOOL", actingweb.ErrInvalid, name, avType(v))
}

// getTime reads a UTCDateTimeAttribute: ok=false when absent, ErrInvalid when not the
// 31-character PynamoDB form.
func getTime(item map[string]types.AttributeValue, name string) (time.Time, bool, error) {
	s, ok, err := getS(item, name)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	t, err := actingweb.ParsePynamoDBTime(s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("attribute %s: %w", name, err)
	}
	return t, true, nil
}

func avType(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberB:
		return "B"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNS:
		return "NS"
	case *types.AttributeValueMemberBS:
		return "BS"
	}
	return fmt.Sprintf("%T", v)
}

// decodeRecord turns a DynamoDB item of table t into its canonical record (§5.3). Bad data
// (wrong attribute types, malformed timestamps, missing keys, attribute data that is not JSON)
// fails with an error wrapping actingweb.ErrInvalid that names the table and key. The key
// attributes are read first, then the stored fields in model order; every field is read (so the
// error names the whole key) and the first error is returned.
func decodeRecord(t actingweb.Table, item map[string]types.AttributeValue) (actingweb.Record, error) {
	p := planOf(t)
	if p == nil {
		return nil, fmt.Errorf("%w: %q", actingweb.ErrUnknownTable, t)
	}
	rec := p.model.New()
	d := itemDecoder{p: p, item: item, base: p.base(rec)}
	hash, rng, err := p.readKey(item, d.base)
	for i := range p.fields {
		if e := d.field(&p.fields[i]); e != nil && err == nil {
			err = e
		}
	}
	if err == nil && p.checkKey != nil {
		err = p.checkKey(rec, hash, rng)
	}
	if err != nil {
		return rec, fmt.Errorf("decode %s item %s: %w", t, actingweb.KeyString(rec.Key()), err)
	}
	return rec, nil
}

// keyAttr reads key attribute name of item: it must be present and S (ErrInvalid otherwise).
func keyAttr(item map[string]types.AttributeValue, name string) (string, error) {
	s, ok, err := getS(item, name)
	if err == nil && !ok {
		err = fmt.Errorf("%w: key attribute %s is missing", actingweb.ErrInvalid, name)
	}
	return s, err
}

// itemDecoder is the state of one decodeRecord: the item, the address of the record, and the
// backing arrays of the record's optional strings and times, each allocated once per record
// (at its first present value, sized by the plan) rather than once per value.
type itemDecoder struct {
	p     *tablePlan
	item  map[string]types.AttributeValue
	base  unsafe.Pointer
	strs  []string
	times []time.Time
}

// str returns a pointer to a copy of s in the record's string array.
func (d *itemDecoder) str(s string) *string {
	if d.strs == nil {
		d.strs = make([]string, 0, d.p.optStrings)
	}
	d.strs = append(d.strs, s) // within capacity: earlier pointers stay valid
	return &d.strs[len(d.strs)-1]
}

// time returns a pointer to a copy of t in the record's time array.
func (d *itemDecoder) time(t time.Time) *time.Time {
	if d.times == nil {
		d.times = make([]time.Time, 0, d.p.optTimes)
	}
	d.times = append(d.times, t)
	return &d.times[len(d.times)-1]
}

// field reads stored field f of the item into the record by its kind (§5.3): absent strings
// read "", absent booleans false, absent numbers f.Absent, absent optional values nil, an
// absent required timestamp is ErrInvalid unless f.AbsentIsNow (then the time of reading),
// JSON text goes through readJSONText.
func (d *itemDecoder) field(f *fieldPlan) error {
	item, at := d.item, unsafe.Add(d.base, f.off)
	switch f.Kind {
	case actingweb.KindString:
		s, _, err := getS(item, f.Name)
		*(*string)(at) = s
		return err
	case actingweb.KindOptString:
		s, ok, err := getS(item, f.Name)
		if ok {
			*(**string)(at) = d.str(s)
		}
		return err
	case actingweb.KindBool:
		b, _, err := getBool(item, f.Name)
		*(*bool)(at) = b
		return err
	case actingweb.KindInt64:
		n, ok, err := getN(item, f.Name)
		if !ok {
			n = f.Absent
		}
		*(*int64)(at) = n
		return err
	case actingweb.KindOptInt64:
		n, ok, err := getN(item, f.Name)
		if ok {
			*(**int64)(at) = &n
		}
		return err
	case actingweb.KindTime:
		t, ok, err := getTime(item, f.Name)
		if err == nil && !ok {
			switch {
			case f.AbsentIsNow:
				t = actingweb.NormalizeTime(time.Now())
			case f.Required:
				err = fmt.Errorf("%w: required timestamp attribute %s is missing", actingweb.ErrInvalid, f.Name)
			}
		}
		*(*time.Time)(at) = t
		return err
	case actingweb.KindOptTime:
		t, ok, err := getTime(item, f.Name)
		if ok {
			*(**time.Time)(at) = d.time(t)
		}
		return err
	case actingweb.KindJSON:
		s, ok, err := getS(item, f.Name)
		if err != nil || !ok {
			return err
		}
		j, err := readJSONText(s)
		*(*json.RawMessage)(at) = j
		if err != nil {
			return fmt.Errorf("attribute %s: %w", f.Name, err)
		}
		return nil
	}
	panic(fmt.Sprintf("dynamodb: codec: field %s of kind %s", f.Name, f.Kind)) // newPlan refuses it
}

// readJSONText turns stored JSONAttribute text into the canonical payload: verbatim when it is
// strict JSON, re-serialised when only Python's non-strict parser accepts it (raw control
// characters in strings); anything else (NaN, Infinity, garbage) is ErrInvalid.
func readJSONText(s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: JSON text is not valid UTF-8", actingweb.ErrInvalid)
	}
	v, strict, err := parseJSON(s, true)
	if err != nil {
		return nil, err
	}
	if strict {
		return []byte(s), nil
	}
	var b strings.Builder
	writePython(&b, v)
	return []byte(b.String()), nil
}

// Item returns the complete item the store writes for r, as PynamoDB writes it (§3.3-§3.12;
// a property lookup record becomes its digest-keyed item, §5.4). It fails with ErrInvalid
// for attribute data that is not JSON and ErrUnknownTable for other record types; size and
// key limits are not checked.
func Item(r actingweb.Record) (map[string]types.AttributeValue, error) { return encodeRecord(r) }

// encodeRecord returns the complete item PynamoDB writes for r (§3.3-§3.12): its key
// attributes (keyOf) and each stored field by encodeField. It fails with ErrInvalid only for
// attribute data that is not JSON or holds numbers outside float range, naming table, key and
// field. Size and key limits are checked separately (validateItem).
func encodeRecord(r actingweb.Record) (map[string]types.AttributeValue, error) {
	p := planFor(r)
	if p == nil {
		return nil, fmt.Errorf("%w: record type %T", actingweb.ErrUnknownTable, r)
	}
	item := make(map[string]types.AttributeValue, p.size)
	base := p.base(r)
	p.putKey(item, r, base)
	for i := range p.fields {
		f := &p.fields[i]
		v, err := encodeField(f, base)
		if err != nil {
			return nil, fmt.Errorf("encode %s item %s: %s: %w", p.table, actingweb.KeyString(r.Key()), f.Name, err)
		}
		if v != nil {
			item[f.Name] = v
		}
	}
	return item, nil
}

// encodeField returns the attribute value PynamoDB writes for stored field f of r, or nil when
// the attribute is absent (§3.2, §5.3): strings S, booleans BOOL, numbers N, timestamps S in
// the 31-character form, nil optional values absent; DynamoDBNilAsEmpty writes nil as S "",
// DynamoDBEmptyAbsent leaves nil and "" absent, DynamoDBPythonJSON writes the payload as the
// text Python's json.dumps writes (JSON null absent). Only a JSON payload fails (ErrInvalid).
func encodeField(f *fieldPlan, base unsafe.Pointer) (types.AttributeValue, error) {
	at := unsafe.Add(base, f.off)
	switch f.Kind {
	case actingweb.KindString:
		s := *(*string)(at)
		if s == "" && f.DynamoDB == actingweb.DynamoDBEmptyAbsent {
			return nil, nil
		}
		return avS(s), nil
	case actingweb.KindOptString:
		s := *(**string)(at)
		switch {
		case s == nil && f.DynamoDB == actingweb.DynamoDBNilAsEmpty:
			return avS(""), nil
		case s == nil, *s == "" && f.DynamoDB == actingweb.DynamoDBEmptyAbsent:
			return nil, nil
		}
		return avS(*s), nil
	case actingweb.KindBool:
		return avBool(*(*bool)(at)), nil
	case actingweb.KindInt64:
		return avN(*(*int64)(at)), nil
	case actingweb.KindOptInt64:
		if n := *(**int64)(at); n != nil {
			return avN(*n), nil
		}
		return nil, nil
	case actingweb.KindTime:
		return avTime(*(*time.Time)(at)), nil
	case actingweb.KindOptTime:
		if t := *(**time.Time)(at); t != nil {
			return avTime(*t), nil
		}
		return nil, nil
	case actingweb.KindJSON:
		d := *(*json.RawMessage)(at)
		if d == nil {
			return nil, nil
		}
		text, err := PythonJSON(d)
		if err != nil || text == "null" {
			return nil, err
		}
		return avS(text), nil
	}
	panic(fmt.Sprintf("dynamodb: codec: field %s of kind %s", f.Name, f.Kind)) // newPlan refuses it
}

// keyOf returns the primary-key attributes of r's item (a fresh map), or nil for a record of no
// known table. A lookup record without LookupKey gets the digest of its name and value.
func keyOf(r actingweb.Record) map[string]types.AttributeValue {
	p := planFor(r)
	if p == nil {
		return nil
	}
	k := make(map[string]types.AttributeValue, 2)
	p.putKey(k, r, p.base(r))
	return k
}

// keySchema names the hash and range key attributes of t ("" range for hash-only tables; ""
// hash for an unknown table): the model's HashKey and RangeKey (§3.3-§3.12).
func keySchema(t actingweb.Table) (hash, rng string) {
	if p := planOf(t); p != nil {
		return p.hash, p.rng
	}
	return "", ""
}
