package dynamodb

// codec.go: canonical record <-> DynamoDB item, exactly as PynamoDB 6.1.0 writes the models of
// Python ActingWeb 3.14.0 (docs/storage-model.md §3.2-§3.12, mapping §5.3).
//
// Decisions (documented for the other engineers of the package):
//   - strings are S, booleans BOOL, numbers N in shortest decimal text, timestamps S in the
//     31-character PynamoDB form, attributes.data S holding Python-json.dumps-style text
//     (pythonJSON); null/absent values are omitted, never written as NULL.
//   - reading is tolerant of what PynamoDB tolerates: absent booleans read false, absent
//     subscription seqnr 0, absent diff seqnr 1, absent required strings "" (§5.3). Wrong
//     attribute types, malformed timestamps, non-integral numbers and attribute data that is not
//     JSON (NaN, Infinity, ...) fail with ErrInvalid, which scans turn into rejects.
//   - an absent diff timestamp reads as the time of reading (§5.3: "if absent use the import
//     time"); such rows therefore compare unequal in a later validation.
//   - attributes.data is read verbatim when it is strict JSON; text only Python's non-strict
//     parser accepts (raw control characters inside strings) is re-serialised to valid JSON.
//     JSON null reads as data "null" and is written as an absent attribute (PynamoDB omits None).
//   - trusts.desc and verification_token: nil is written as "" (PynamoDB requires them).
//   - subscription granularity/target/subtarget/resource: nil or "" is written absent.
//   - suspensions: target_key = TargetKey(); subtarget absent when ""; a stored target_key
//     that disagrees with target/subtarget is ErrInvalid (the row is unreachable upstream and
//     would change its key when copied).
//   - actors.created_at is dropped (PostgreSQL only); lookup items carry no value, so decoded
//     lookup records have Value nil.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// itemReader collects the first error of a sequence of reads, so decoders stay flat.
type itemReader struct {
	item map[string]types.AttributeValue
	err  error
}

// key reads a key attribute: must be present and S.
func (r *itemReader) key(name string) string {
	s, ok, err := getS(r.item, name)
	if r.err == nil {
		if err != nil {
			r.err = err
		} else if !ok {
			r.err = fmt.Errorf("%w: key attribute %s is missing", actingweb.ErrInvalid, name)
		}
	}
	return s
}

// str reads a required string; absent reads "" (§5.3).
func (r *itemReader) str(name string) string {
	s, _, err := getS(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	return s
}

// opt reads a nullable string: nil when absent.
func (r *itemReader) opt(name string) *string {
	s, ok, err := getS(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	if !ok {
		return nil
	}
	return &s
}

func (r *itemReader) boolean(name string) bool {
	b, _, err := getBool(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	return b
}

func (r *itemReader) num(name string, def int64) int64 {
	n, ok, err := getN(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	if !ok {
		return def
	}
	return n
}

func (r *itemReader) optNum(name string) *int64 {
	n, ok, err := getN(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	if !ok {
		return nil
	}
	return &n
}

func (r *itemReader) optTime(name string) *time.Time {
	t, ok, err := getTime(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	if !ok {
		return nil
	}
	return &t
}

// reqTime reads a required timestamp; absent is ErrInvalid unless def is given.
func (r *itemReader) reqTime(name string, def func() time.Time) time.Time {
	t, ok, err := getTime(r.item, name)
	if r.err == nil && err != nil {
		r.err = err
	}
	if !ok && r.err == nil {
		if def != nil {
			return def()
		}
		r.err = fmt.Errorf("%w: required timestamp attribute %s is missing", actingweb.ErrInvalid, name)
	}
	return t
}

// decodeRecord turns a DynamoDB item of table t into its canonical record (§5.3). Bad data
// (wrong attribute types, malformed timestamps, missing keys, attribute data that is not JSON)
// fails with an error wrapping actingweb.ErrInvalid that names the table and key.
func decodeRecord(t actingweb.Table, item map[string]types.AttributeValue) (actingweb.Record, error) {
	r := &itemReader{item: item}
	var rec actingweb.Record
	switch t {
	case actingweb.TableActors:
		rec = &actingweb.Actor{ID: r.key("id"), Creator: r.str("creator"), Passphrase: r.str("passphrase")}
	case actingweb.TableProperties:
		rec = &actingweb.Property{ID: r.key("id"), Name: r.key("name"), Value: r.str("value")}
	case actingweb.TablePropertyLookup:
		rec = &actingweb.PropertyLookup{LookupKey: r.key("lookup_key"), ActorID: r.str("actor_id"),
			PropertyName: r.str("property_name")}
	case actingweb.TableAttributes:
		a := &actingweb.Attribute{ID: r.key("id"), BucketName: r.key("bucket_name"), Bucket: r.str("bucket"),
			Name: r.str("name"), Timestamp: r.optTime("timestamp"), TTLTimestamp: r.optNum("ttl_timestamp")}
		if d, ok, err := getS(item, "data"); r.err == nil && err != nil {
			r.err = err
		} else if ok {
			j, err := readJSONText(d)
			if err != nil && r.err == nil {
				r.err = fmt.Errorf("attribute data: %w", err)
			}
			a.Data = j
		}
		rec = a
	case actingweb.TableTrusts:
		rec = &actingweb.Trust{
			ID: r.key("id"), PeerID: r.key("peerid"), BaseURI: r.str("baseuri"), Type: r.str("type"),
			Relationship: r.str("relationship"), Secret: r.str("secret"), Desc: r.opt("desc"),
			Approved: r.boolean("approved"), PeerApproved: r.boolean("peer_approved"), Verified: r.boolean("verified"),
			VerificationToken: r.opt("verification_token"), PeerIdentifier: r.opt("peer_identifier"),
			EstablishedVia: r.opt("established_via"), CreatedAt: r.optTime("created_at"),
			LastAccessed: r.optTime("last_accessed"), LastConnectedVia: r.opt("last_connected_via"),
			ClientName: r.opt("client_name"), ClientVersion: r.opt("client_version"),
			ClientPlatform: r.opt("client_platform"), OAuthClientID: r.opt("oauth_client_id"),
			AWSupported: r.opt("aw_supported"), AWVersion: r.opt("aw_version"),
			CapabilitiesFetchedAt: r.optTime("capabilities_fetched_at"),
		}
	case actingweb.TablePeerTrustees:
		rec = &actingweb.PeerTrustee{ID: r.key("id"), PeerID: r.key("peerid"), BaseURI: r.str("baseuri"),
			Type: r.str("type"), Passphrase: r.str("passphrase")}
	case actingweb.TableSubscriptions:
		rec = &actingweb.Subscription{ID: r.key("id"), PeerSubID: r.key("peer_sub_id"), PeerID: r.str("peerid"),
			SubID: r.str("subid"), Granularity: r.opt("granularity"), Target: r.opt("target"),
			Subtarget: r.opt("subtarget"), Resource: r.opt("resource"), Seqnr: r.num("seqnr", 0),
			Callback: r.boolean("callback")}
	case actingweb.TableSubscriptionDiffs:
		rec = &actingweb.SubscriptionDiff{ID: r.key("id"), SubIDSeqnr: r.key("subid_seqnr"), SubID: r.str("subid"),
			Timestamp: r.reqTime("timestamp", func() time.Time { return actingweb.NormalizeTime(time.Now()) }),
			Diff:      r.str("diff"), Seqnr: r.num("seqnr", 1)}
	case actingweb.TableSubscriptionSuspensions:
		s := &actingweb.SubscriptionSuspension{ID: r.key("id"), Target: r.str("target"),
			SuspendedAt: r.reqTime("suspended_at", nil)}
		tk := r.key("target_key")
		if st := r.opt("subtarget"); st != nil {
			s.Subtarget = *st
		}
		if r.err == nil && tk != s.TargetKey() {
			r.err = fmt.Errorf("%w: target_key %q disagrees with target/subtarget (expected %q)",
				actingweb.ErrInvalid, tk, s.TargetKey())
		}
		rec = s
	default:
		return nil, fmt.Errorf("%w: %q", actingweb.ErrUnknownTable, t)
	}
	if r.err != nil {
		return rec, fmt.Errorf("decode %s item %s: %w", t, actingweb.KeyString(rec.Key()), r.err)
	}
	return rec, nil
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

// encodeRecord returns the complete item PynamoDB writes for r (§3.3-§3.12). It fails with
// ErrInvalid only for attribute data that is not JSON or holds numbers outside float range.
// Size and key limits are checked separately (validateItem).
func encodeRecord(r actingweb.Record) (map[string]types.AttributeValue, error) {
	item := keyOf(r)
	if item == nil {
		return nil, fmt.Errorf("%w: record type %T", actingweb.ErrUnknownTable, r)
	}
	opt := func(name string, s *string) {
		if s != nil {
			item[name] = avS(*s)
		}
	}
	optNonEmpty := func(name string, s *string) {
		if s != nil && *s != "" {
			item[name] = avS(*s)
		}
	}
	optTime := func(name string, t *time.Time) {
		if t != nil {
			item[name] = avTime(*t)
		}
	}
	orEmpty := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	switch r := r.(type) {
	case *actingweb.Actor:
		item["creator"] = avS(r.Creator)
		item["passphrase"] = avS(r.Passphrase)
	case *actingweb.Property:
		item["value"] = avS(r.Value)
	case *actingweb.PropertyLookup:
		item["actor_id"] = avS(r.ActorID)
		item["property_name"] = avS(r.PropertyName)
	case *actingweb.Attribute:
		item["bucket"] = avS(r.Bucket)
		item["name"] = avS(r.Name)
		if r.Data != nil {
			text, err := PythonJSON(r.Data)
			if err != nil {
				return nil, fmt.Errorf("encode attributes item %s: data: %w", actingweb.KeyString(r.Key()), err)
			}
			if text != "null" {
				item["data"] = avS(text)
			}
		}
		optTime("timestamp", r.Timestamp)
		if r.TTLTimestamp != nil {
			item["ttl_timestamp"] = avN(*r.TTLTimestamp)
		}
	case *actingweb.Trust:
		item["baseuri"] = avS(r.BaseURI)
		item["type"] = avS(r.Type)
		item["relationship"] = avS(r.Relationship)
		item["secret"] = avS(r.Secret)
		item["desc"] = avS(orEmpty(r.Desc))
		item["approved"] = avBool(r.Approved)
		item["peer_approved"] = avBool(r.PeerApproved)
		item["verified"] = avBool(r.Verified)
		item["verification_token"] = avS(orEmpty(r.VerificationToken))
		opt("peer_identifier", r.PeerIdentifier)
		opt("established_via", r.EstablishedVia)
		optTime("created_at", r.CreatedAt)
		optTime("last_accessed", r.LastAccessed)
		opt("last_connected_via", r.LastConnectedVia)
		opt("client_name", r.ClientName)
		opt("client_version", r.ClientVersion)
		opt("client_platform", r.ClientPlatform)
		opt("oauth_client_id", r.OAuthClientID)
		opt("aw_supported", r.AWSupported)
		opt("aw_version", r.AWVersion)
		optTime("capabilities_fetched_at", r.CapabilitiesFetchedAt)
	case *actingweb.PeerTrustee:
		item["baseuri"] = avS(r.BaseURI)
		item["type"] = avS(r.Type)
		item["passphrase"] = avS(r.Passphrase)
	case *actingweb.Subscription:
		item["peerid"] = avS(r.PeerID)
		item["subid"] = avS(r.SubID)
		optNonEmpty("granularity", r.Granularity)
		optNonEmpty("target", r.Target)
		optNonEmpty("subtarget", r.Subtarget)
		optNonEmpty("resource", r.Resource)
		item["seqnr"] = avN(r.Seqnr)
		item["callback"] = avBool(r.Callback)
	case *actingweb.SubscriptionDiff:
		item["subid"] = avS(r.SubID)
		item["timestamp"] = avTime(r.Timestamp)
		item["diff"] = avS(r.Diff)
		item["seqnr"] = avN(r.Seqnr)
	case *actingweb.SubscriptionSuspension:
		item["target"] = avS(r.Target)
		if r.Subtarget != "" {
			item["subtarget"] = avS(r.Subtarget)
		}
		item["suspended_at"] = avTime(r.SuspendedAt)
	}
	return item, nil
}

// keyOf returns the primary-key attributes of r's item (a fresh map), or nil for an unknown
// record type. A lookup record without LookupKey gets the digest of its name and value.
func keyOf(r actingweb.Record) map[string]types.AttributeValue {
	switch r := r.(type) {
	case *actingweb.Actor:
		return map[string]types.AttributeValue{"id": avS(r.ID)}
	case *actingweb.Property:
		return map[string]types.AttributeValue{"id": avS(r.ID), "name": avS(r.Name)}
	case *actingweb.PropertyLookup:
		k := r.LookupKey
		if k == "" && r.Value != nil {
			k = actingweb.LookupKey(r.PropertyName, *r.Value)
		}
		return map[string]types.AttributeValue{"lookup_key": avS(k)}
	case *actingweb.Attribute:
		return map[string]types.AttributeValue{"id": avS(r.ID), "bucket_name": avS(r.BucketName)}
	case *actingweb.Trust:
		return map[string]types.AttributeValue{"id": avS(r.ID), "peerid": avS(r.PeerID)}
	case *actingweb.PeerTrustee:
		return map[string]types.AttributeValue{"id": avS(r.ID), "peerid": avS(r.PeerID)}
	case *actingweb.Subscription:
		return map[string]types.AttributeValue{"id": avS(r.ID), "peer_sub_id": avS(r.PeerSubID)}
	case *actingweb.SubscriptionDiff:
		return map[string]types.AttributeValue{"id": avS(r.ID), "subid_seqnr": avS(r.SubIDSeqnr)}
	case *actingweb.SubscriptionSuspension:
		return map[string]types.AttributeValue{"id": avS(r.ID), "target_key": avS(r.TargetKey())}
	}
	return nil
}

// keySchema names the hash and range key attributes of t ("" range for hash-only tables),
// §3.3-§3.12.
func keySchema(t actingweb.Table) (hash, rng string) {
	switch t {
	case actingweb.TableActors:
		return "id", ""
	case actingweb.TableProperties:
		return "id", "name"
	case actingweb.TablePropertyLookup:
		return "lookup_key", ""
	case actingweb.TableAttributes:
		return "id", "bucket_name"
	case actingweb.TableTrusts, actingweb.TablePeerTrustees:
		return "id", "peerid"
	case actingweb.TableSubscriptions:
		return "id", "peer_sub_id"
	case actingweb.TableSubscriptionDiffs:
		return "id", "subid_seqnr"
	case actingweb.TableSubscriptionSuspensions:
		return "id", "target_key"
	}
	return "", ""
}
