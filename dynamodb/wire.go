package dynamodb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	actingweb "github.com/actingweb/actingweb-go"
)

// ParseWireItem parses one item in DynamoDB's JSON wire format, as the DynamoDB API, the AWS
// CLI and the upstream-seed1 fixture write it: {"id":{"S":"..."},"seqnr":{"N":"3"},...}. It
// understands S, N, B (base64), BOOL, NULL, M, L, SS, NS and BS. N values are kept as the
// exact text given. Malformed input fails with an error wrapping actingweb.ErrInvalid.
func ParseWireItem(data []byte) (map[string]types.AttributeValue, error) {
	var raw map[string]json.RawMessage
	if err := strictUnmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: wire item: %v", actingweb.ErrInvalid, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: wire item: not a JSON object", actingweb.ErrInvalid)
	}
	return parseWireMap(raw)
}

func parseWireMap(raw map[string]json.RawMessage) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(raw))
	for name, v := range raw {
		av, err := parseWireValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		item[name] = av
	}
	return item, nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

func parseWireValue(data json.RawMessage) (types.AttributeValue, error) {
	var m map[string]json.RawMessage
	if err := strictUnmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: attribute value: %v", actingweb.ErrInvalid, err)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("%w: attribute value must have exactly one type key, has %d", actingweb.ErrInvalid, len(m))
	}
	for typ, v := range m {
		bad := func(err error) error {
			return fmt.Errorf("%w: %s value: %v", actingweb.ErrInvalid, typ, err)
		}
		switch typ {
		case "S":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberS{Value: s}, nil
		case "N":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberN{Value: s}, nil
		case "B":
			var b []byte // base64 in JSON
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberB{Value: b}, nil
		case "BOOL":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberBOOL{Value: b}, nil
		case "NULL":
			var b bool
			if err := json.Unmarshal(v, &b); err != nil || !b {
				return nil, bad(fmt.Errorf("must be true"))
			}
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "M":
			var raw map[string]json.RawMessage
			if err := strictUnmarshal(v, &raw); err != nil {
				return nil, bad(err)
			}
			mm, err := parseWireMap(raw)
			if err != nil {
				return nil, err
			}
			return &types.AttributeValueMemberM{Value: mm}, nil
		case "L":
			var raw []json.RawMessage
			if err := strictUnmarshal(v, &raw); err != nil {
				return nil, bad(err)
			}
			l := make([]types.AttributeValue, len(raw))
			for i, e := range raw {
				av, err := parseWireValue(e)
				if err != nil {
					return nil, fmt.Errorf("element %d: %w", i, err)
				}
				l[i] = av
			}
			return &types.AttributeValueMemberL{Value: l}, nil
		case "SS":
			var ss []string
			if err := json.Unmarshal(v, &ss); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberSS{Value: ss}, nil
		case "NS":
			var ns []string
			if err := json.Unmarshal(v, &ns); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberNS{Value: ns}, nil
		case "BS":
			var bs [][]byte
			if err := json.Unmarshal(v, &bs); err != nil {
				return nil, bad(err)
			}
			return &types.AttributeValueMemberBS{Value: bs}, nil
		default:
			return nil, fmt.Errorf("%w: unknown attribute type %q", actingweb.ErrInvalid, typ)
		}
	}
	panic("unreachable")
}

// MarshalWireItem renders an item in DynamoDB's JSON wire format, attribute names sorted
// (like the fixture files), compact, HTML characters not escaped. It is the inverse of
// ParseWireItem for S, N, B, BOOL, NULL, M, L, SS, NS and BS; other member types are an
// error wrapping actingweb.ErrInvalid.
func MarshalWireItem(item map[string]types.AttributeValue) ([]byte, error) {
	var b bytes.Buffer
	if err := writeWireMap(&b, item); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings always encode
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

func writeWireMap(b *bytes.Buffer, m map[string]types.AttributeValue) error {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, k)
		b.WriteByte(':')
		if err := writeWireValue(b, m[k]); err != nil {
			return fmt.Errorf("attribute %q: %w", k, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func writeWireStrings(b *bytes.Buffer, ss []string) {
	b.WriteByte('[')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(b, s)
	}
	b.WriteByte(']')
}

func writeWireValue(b *bytes.Buffer, v types.AttributeValue) error {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		b.WriteString(`{"S":`)
		writeJSONString(b, x.Value)
	case *types.AttributeValueMemberN:
		b.WriteString(`{"N":`)
		writeJSONString(b, x.Value)
	case *types.AttributeValueMemberB:
		b.WriteString(`{"B":`)
		writeJSONString(b, base64.StdEncoding.EncodeToString(x.Value))
	case *types.AttributeValueMemberBOOL:
		if x.Value {
			b.WriteString(`{"BOOL":true`)
		} else {
			b.WriteString(`{"BOOL":false`)
		}
	case *types.AttributeValueMemberNULL:
		b.WriteString(`{"NULL":true`)
	case *types.AttributeValueMemberM:
		b.WriteString(`{"M":`)
		if err := writeWireMap(b, x.Value); err != nil {
			return err
		}
	case *types.AttributeValueMemberL:
		b.WriteString(`{"L":[`)
		for i, e := range x.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeWireValue(b, e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		b.WriteByte(']')
	case *types.AttributeValueMemberSS:
		b.WriteString(`{"SS":`)
		writeWireStrings(b, x.Value)
	case *types.AttributeValueMemberNS:
		b.WriteString(`{"NS":`)
		writeWireStrings(b, x.Value)
	case *types.AttributeValueMemberBS:
		b.WriteString(`{"BS":[`)
		for i, e := range x.Value {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, base64.StdEncoding.EncodeToString(e))
		}
		b.WriteByte(']')
	default:
		return fmt.Errorf("%w: unsupported attribute value type %T", actingweb.ErrInvalid, v)
	}
	b.WriteByte('}')
	return nil
}
