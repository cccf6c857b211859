package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/jackc/pgx/v5"
)

// maxLookupSamples bounds LookupRebuild.Samples.
const maxLookupSamples = 10

// RebuildPropertyLookup derives property_lookup rows from properties for names (rows whose name
// starts with "list:" excluded), in one statement: for every (name, value) the row of the first
// owner by id is inserted (ON CONFLICT DO NOTHING). It counts per property row: Written
// (inserted), Existing (the key already points to this actor), Collisions (the key belongs to
// another actor, or another actor with a smaller id got it), Orphans (no actors row: skipped,
// the foreign key would refuse it). Rows whose name + value exceed MaxLookupEntryBytes cannot
// be indexed: they are skipped, counted in no field but Scanned, and listed in Samples. Samples
// are "name / actor (why)", never values. The same statement (one pass over properties) lists
// the contested keys (LookupRebuild.Contested): lookup rows of the names, as they are after
// the insert, whose value other actors (with an actors row) hold too, with the row's owner as
// Kept. Idempotent.
func (s *Store) RebuildPropertyLookup(ctx context.Context, names []string) (bulk.LookupRebuild, error) {
	return s.rebuildLookup(ctx, s.pool, names, s.qtable(actingweb.TableProperties))
}

// rebuildWorkMem is the work_mem of the rebuild statement (SET LOCAL): its sorts of the
// candidate rows spill to disk with PostgreSQL's default of 4 MB from ~30,000 lookup rows on.
const rebuildWorkMem = "32MB"

// rebuildLookup is RebuildPropertyLookup with the property rows read from src (a table with
// the columns name, value, id: the properties table, or a lookup feed's staging table), in
// one transaction on db.
func (s *Store) rebuildLookup(ctx context.Context, db interface {
	Begin(context.Context) (pgx.Tx, error)
}, names []string, src string) (bulk.LookupRebuild, error) {
	out := bulk.LookupRebuild{Samples: []string{}}
	if len(names) == 0 {
		return out, nil
	}
	q := `WITH src AS (
		SELECT p.name, p.value, p.id,
			EXISTS (SELECT 1 FROM ` + s.qtable(actingweb.TableActors) + ` a WHERE a.id = p.id) AS has_actor,
			octet_length(p.name) + octet_length(p.value) > $2 AS too_long
		FROM ` + src + ` p
		WHERE p.name = ANY($1::text[]) AND left(p.name, 5) <> 'list:'
	), cand AS (
		SELECT DISTINCT ON (name, value) name, value, id FROM src
		WHERE has_actor AND NOT too_long AND length(name) <= 255
		ORDER BY name, value, id
	), ins AS (
		INSERT INTO ` + s.qtable(actingweb.TablePropertyLookup) + ` (property_name, value, actor_id)
		SELECT name, value, id FROM cand
		ON CONFLICT (property_name, value) DO NOTHING
		RETURNING property_name, value, actor_id
	), cls AS (
		SELECT s.name, s.id, CASE
			WHEN NOT s.has_actor THEN 'orphan'
			WHEN s.too_long OR length(s.name) > 255 THEN 'too_long'
			WHEN i.actor_id IS NOT NULL THEN 'written'
			WHEN l.actor_id = s.id THEN 'existing'
			ELSE 'collision' END AS kind,
			coalesce(l.actor_id, c.id) AS holder
		FROM src s
		LEFT JOIN cand c ON c.name = s.name AND c.value = s.value
		LEFT JOIN ins i ON i.property_name = s.name AND i.value = s.value AND i.actor_id = s.id
		LEFT JOIN ` + s.qtable(actingweb.TablePropertyLookup) + ` l ON l.property_name = s.name AND l.value = s.value
	), lk AS (
		-- the lookup rows of names after the insert: those before it and those it wrote
		SELECT l.property_name AS name, l.value, l.actor_id FROM ` + s.qtable(actingweb.TablePropertyLookup) + ` l
		WHERE l.property_name = ANY($1::text[]) AND left(l.property_name, 5) <> 'list:'
		UNION ALL
		SELECT property_name, value, actor_id FROM ins
	), con AS (
		SELECT k.name, k.value, k.actor_id, array_agg(s.id ORDER BY s.id) AS others
		FROM lk k JOIN src s ON s.name = k.name AND s.value = k.value
		WHERE s.id <> k.actor_id AND s.has_actor
		GROUP BY k.name, k.value, k.actor_id
		ORDER BY k.name, k.value
		LIMIT $4
	)
	` + lookupSummary
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '"+rebuildWorkMem+"'"); err != nil {
			return err
		}
		var err error
		out, err = s.queryLookupSummary(ctx, tx, q, names)
		return err
	})
	if err != nil {
		return bulk.LookupRebuild{}, err
	}
	return out, nil
}

// lookupSummary ends the statements of rebuildLookup and of the lookup feed's Close: from
// the CTEs cls (kind and holder per candidate row) and con (contested keys) it selects the
// contested keys as JSON, the counts and the samples. $3 is maxLookupSamples, $4
// bulk.MaxLookupContests+1.
const lookupSummary = `SELECT (SELECT coalesce(json_agg(json_build_array(name, value, actor_id, others)), '[]') FROM con),
		count(*),
		count(*) FILTER (WHERE kind = 'written'),
		count(*) FILTER (WHERE kind = 'existing'),
		count(*) FILTER (WHERE kind = 'collision'),
		count(*) FILTER (WHERE kind = 'orphan'),
		coalesce((array_agg(name || ' / ' || id || ' (' || CASE kind
			WHEN 'orphan' THEN 'orphan: no actors row'
			WHEN 'too_long' THEN 'value too large for the lookup index'
			ELSE 'collision: value already owned by ' || coalesce(holder, 'another actor') END || ')'
			ORDER BY name, id) FILTER (WHERE kind IN ('collision', 'orphan', 'too_long')))[1:$3], '{}')
	FROM cls`

// queryLookupSummary runs q (a statement ending with lookupSummary; $1 names, $2
// MaxLookupEntryBytes) on db and reads its result.
func (s *Store) queryLookupSummary(ctx context.Context, db pgx.Tx, q string, names []string) (bulk.LookupRebuild, error) {
	out := bulk.LookupRebuild{Samples: []string{}}
	var contested []byte
	if err := db.QueryRow(ctx, q, names, MaxLookupEntryBytes, maxLookupSamples, bulk.MaxLookupContests+1).Scan(
		&contested, &out.Scanned, &out.Written, &out.Existing, &out.Collisions, &out.Orphans, &out.Samples); err != nil {
		return bulk.LookupRebuild{}, s.tableErr(actingweb.TablePropertyLookup, "rebuild", err)
	}
	var err error
	if out.Contested, out.ContestedTruncated, err = decodeContests(contested); err != nil {
		return bulk.LookupRebuild{}, s.tableErr(actingweb.TablePropertyLookup, "rebuild (contested keys)", err)
	}
	return out, nil
}

// decodeContests reads the contested keys of RebuildPropertyLookup's statement, a JSON array
// of [name, value, kept, [others...]], at most bulk.MaxLookupContests+1 of them: the
// first MaxLookupContests sorted by name and lookup key, and true when there were more.
func decodeContests(raw []byte) ([]bulk.LookupContest, bool, error) {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(raw, &rows); err != nil {
		return nil, false, err
	}
	out := make([]bulk.LookupContest, 0, min(len(rows), bulk.MaxLookupContests))
	truncated := false
	for _, row := range rows {
		if len(out) == bulk.MaxLookupContests {
			truncated = true
			break
		}
		var c bulk.LookupContest
		if len(row) != 4 {
			return nil, false, fmt.Errorf("contested key row of %d fields", len(row))
		}
		for i, dst := range []any{&c.PropertyName, &c.Value, &c.Kept, &c.Others} {
			if err := json.Unmarshal(row[i], dst); err != nil {
				return nil, false, err
			}
		}
		c.LookupKey = actingweb.LookupKey(c.PropertyName, c.Value)
		out = append(out, c)
	}
	sortContests(out)
	return out, truncated, nil
}

func sortContests(out []bulk.LookupContest) {
	sort.Slice(out, func(i, j int) bool {
		if out[i].PropertyName != out[j].PropertyName {
			return out[i].PropertyName < out[j].PropertyName
		}
		return out[i].LookupKey < out[j].LookupKey
	})
}
