package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// Attributes (§6.9). data is jsonb, sent as JSON text and read back as jsonb's normalised text;
// "timestamp" is naive UTC; ttl_timestamp epoch seconds. Buckets match exactly. Whole rows are
// read and written through the table's description (specs.go).

var (
	attributeSpec = specs[actingweb.TableAttributes]
	scanAttribute = scanAs[actingweb.Attribute](actingweb.TableAttributes)

	sqlGetBucket     = attributeSpec.selectFrom + ` WHERE id = $1 AND bucket = $2`
	sqlGetAttribute  = attributeSpec.selectFrom + ` WHERE id = $1 AND bucket_name = $2`
	sqlListAttribute = attributeSpec.selectFrom + ` WHERE id = $1`
	sqlGetBucketPage = attributeSpec.selectFrom +
		` WHERE id = $1 AND bucket = $2 AND name COLLATE "C" > $3 ORDER BY name COLLATE "C" LIMIT $4`
	// sqlSetAttribute replaces every non-key column of an existing key.
	sqlSetAttribute = attributeSpec.insert + ` ON CONFLICT (` + quoteList(attributeSpec.pk) + `) DO UPDATE SET ` +
		attributeSpec.update
)

// falsyJSON reports whether a payload is Python-falsy (nil, null, "", 0, false, [], {}), or
// fails with ErrInvalid when it is not JSON.
func falsyJSON(data json.RawMessage) (bool, error) {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return true, nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(t))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return false, err
	}
	if d.More() {
		return false, &json.SyntaxError{Offset: d.InputOffset()}
	}
	switch x := v.(type) {
	case nil:
		return true, nil
	case bool:
		return !x, nil
	case string:
		return x == "", nil
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0, nil
	case []any:
		return len(x) == 0, nil
	case map[string]any:
		return len(x) == 0, nil
	}
	return false, nil
}

// jsonText is the JSON text sent for a jsonb parameter; nil/empty is JSON null.
func jsonText(data json.RawMessage) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "null"
	}
	return string(data)
}

// GetBucket returns the bucket's attributes by name (exact bucket, no expiry filtering).
func (s *Store) GetBucket(ctx context.Context, ownerID, bucket string) (map[string]actingweb.Attribute, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlGetBucket), ownerID, bucket)
	as, err := collectList(rows, scanAttribute, "get bucket %s/%s", ownerID, bucket)
	if err != nil {
		return nil, err
	}
	m := make(map[string]actingweb.Attribute, len(as))
	for _, a := range as {
		m[a.Name] = a
	}
	return m, nil
}

// GetAttribute reads bucket:name (no expiry filtering); ErrNotFound if absent.
func (s *Store) GetAttribute(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	a, err := scanAttribute(s.pool.QueryRow(ctx, s.sql(sqlGetAttribute), ownerID, bucket+":"+name))
	if err != nil {
		return actingweb.Attribute{}, wrapErr(err, "get attribute %s/%s:%s", ownerID, bucket, name)
	}
	return a, nil
}

// GetAttributeStrict is GetAttribute with rows whose ttl_timestamp <= now reported as
// ErrNotFound.
func (s *Store) GetAttributeStrict(ctx context.Context, ownerID, bucket, name string) (actingweb.Attribute, error) {
	a, err := s.GetAttribute(ctx, ownerID, bucket, name)
	if err != nil {
		return a, err
	}
	if a.Expired(time.Now()) {
		return actingweb.Attribute{}, notFound("get attribute %s/%s:%s (expired)", ownerID, bucket, name)
	}
	return a, nil
}

// SetAttribute replaces bucket:name; falsy data deletes it. ttl > 0 sets ttl_timestamp = now +
// ttl (whole seconds) + TTLClockSkewBuffer; ttl <= 0 clears it. ts nil stores NULL. Data that
// is not JSON fails with ErrInvalid.
func (s *Store) SetAttribute(ctx context.Context, ownerID, bucket, name string, data json.RawMessage, ts *time.Time, ttl time.Duration) error {
	if ownerID == "" || bucket == "" || name == "" {
		return invalid("set attribute %q/%q:%q: owner, bucket and name are required", ownerID, bucket, name)
	}
	falsy, err := falsyJSON(data)
	if err != nil {
		return invalid("set attribute %s/%s:%s: data is not JSON (%v)", ownerID, bucket, name, err)
	}
	if falsy {
		return s.DeleteAttribute(ctx, ownerID, bucket, name)
	}
	var ttlAt *int64
	if ttl > 0 {
		v := time.Now().Unix() + int64(ttl/time.Second) + actingweb.TTLClockSkewBuffer
		ttlAt = &v
	}
	a := actingweb.Attribute{ID: ownerID, BucketName: bucket + ":" + name, Bucket: bucket, Name: name,
		Data: json.RawMessage(sanitize(string(data))), Timestamp: ts, TTLTimestamp: ttlAt}
	attributeSpec.normalizeTimes(&a)
	_, err = s.pool.Exec(ctx, s.sql(sqlSetAttribute), attributeSpec.values(&a, nil)...)
	return wrapErr(err, "set attribute %s/%s:%s", ownerID, bucket, name)
}

// DeleteAttribute deletes bucket:name. Idempotent.
func (s *Store) DeleteAttribute(ctx context.Context, ownerID, bucket, name string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {attributes} WHERE id = $1 AND bucket_name = $2`), ownerID, bucket+":"+name)
	return wrapErr(err, "delete attribute %s/%s:%s", ownerID, bucket, name)
}

// DeleteAttributeConditional deletes bucket:name and reports whether this call removed it.
func (s *Store) DeleteAttributeConditional(ctx context.Context, ownerID, bucket, name string) (bool, error) {
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {attributes} WHERE id = $1 AND bucket_name = $2`), ownerID, bucket+":"+name)
	if err != nil {
		return false, wrapErr(err, "delete attribute %s/%s:%s", ownerID, bucket, name)
	}
	return tag.RowsAffected() == 1, nil
}

// ConditionalUpdateAttribute stores newData (falsy included; nil is JSON null) only when the
// stored payload equals oldData as jsonb (key order irrelevant). ts nil leaves the stored
// timestamp unchanged (§8.1); TTL untouched. false when the row is missing or differs.
func (s *Store) ConditionalUpdateAttribute(ctx context.Context, ownerID, bucket, name string, oldData, newData json.RawMessage, ts *time.Time) (bool, error) {
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {attributes} SET data = $4::jsonb, "timestamp" = COALESCE($5, "timestamp")
		WHERE id = $1 AND bucket_name = $2 AND data = $3::jsonb`),
		ownerID, bucket+":"+name, sanitize(jsonText(oldData)), sanitize(jsonText(newData)), naivePtr(ts))
	if err != nil {
		return false, wrapErr(err, "conditional update of attribute %s/%s:%s", ownerID, bucket, name)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteBucket deletes a whole bucket (exact match).
func (s *Store) DeleteBucket(ctx context.Context, ownerID, bucket string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {attributes} WHERE id = $1 AND bucket = $2`), ownerID, bucket)
	return wrapErr(err, "delete bucket %s/%s", ownerID, bucket)
}

// DeleteExpiredAttributes deletes rows with ttl_timestamp < now (all owners; only the listed
// buckets when buckets is non-empty) and returns the number deleted. Uses idx_attributes_ttl.
func (s *Store) DeleteExpiredAttributes(ctx context.Context, now time.Time, buckets []string) (int64, error) {
	q, args := s.sql(`DELETE FROM {attributes} WHERE ttl_timestamp IS NOT NULL AND ttl_timestamp < $1`), []any{now.Unix()}
	if len(buckets) > 0 {
		q += ` AND bucket = ANY($2)`
		args = append(args, buckets)
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, wrapErr(err, "delete expired attributes")
	}
	return tag.RowsAffected(), nil
}

// DeleteAttributesByChain deletes the owner's rows in the listed buckets whose payload has
// chain_id (as text) equal to chainID; returns the number deleted.
func (s *Store) DeleteAttributesByChain(ctx context.Context, ownerID string, buckets []string, chainID string) (int64, error) {
	if len(buckets) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {attributes} WHERE id = $1 AND bucket = ANY($2) AND data->>'chain_id' = $3`),
		ownerID, buckets, chainID)
	if err != nil {
		return 0, wrapErr(err, "delete attributes of %s by chain", ownerID)
	}
	return tag.RowsAffected(), nil
}

// ListAttributes returns every attribute of the owner: bucket -> name -> attribute.
func (s *Store) ListAttributes(ctx context.Context, ownerID string) (map[string]map[string]actingweb.Attribute, error) {
	rows, _ := s.pool.Query(ctx, s.sql(sqlListAttribute), ownerID)
	as, err := collectList(rows, scanAttribute, "list attributes %s", ownerID)
	if err != nil {
		return nil, err
	}
	m := map[string]map[string]actingweb.Attribute{}
	for _, a := range as {
		b := m[a.Bucket]
		if b == nil {
			b = map[string]actingweb.Attribute{}
			m[a.Bucket] = b
		}
		b[a.Name] = a
	}
	return m, nil
}

// BucketTimestamps returns the greatest timestamp per bucket (buckets without any omitted).
func (s *Store) BucketTimestamps(ctx context.Context, ownerID string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, s.sql(`SELECT bucket, MAX("timestamp") FROM {attributes} WHERE id = $1
		GROUP BY bucket HAVING MAX("timestamp") IS NOT NULL`), ownerID)
	if err != nil {
		return nil, wrapErr(err, "bucket timestamps %s", ownerID)
	}
	defer rows.Close()
	m := map[string]time.Time{}
	var b string
	var t time.Time
	for rows.Next() {
		if err := rows.Scan(&b, &t); err != nil {
			return nil, wrapErr(err, "bucket timestamps %s", ownerID)
		}
		m[b] = t.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr(err, "bucket timestamps %s", ownerID)
	}
	return m, nil
}

// DeleteAllAttributes deletes every attribute of the owner.
func (s *Store) DeleteAllAttributes(ctx context.Context, ownerID string) error {
	_, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {attributes} WHERE id = $1`), ownerID)
	return wrapErr(err, "delete all attributes %s", ownerID)
}
