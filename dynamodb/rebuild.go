package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// Shape of RebuildPropertyLookup's pipeline: rebuildSegments scan segments feed rebuildWorkers
// workers through channels of rebuildQueue candidates each; a worker handles rebuildBatch
// candidates at a time (one BatchGetItem of their digests, one of their owners' actor rows,
// then BatchWriteItem requests of 25 for the missing rows).
const (
	rebuildSegments = 4 // upstream's backfill default (§5.4)
	rebuildWorkers  = 4
	rebuildBatch    = maxBatchGet // 100 keys: one BatchGetItem request per table and batch
	rebuildQueue    = 2 * rebuildBatch
)

// lookupCandidate is one property row of an indexed name: the lookup item it derives.
type lookupCandidate struct {
	digest, owner, name, value string
}

// rebuildTally is the shared part of a rebuild's result: counts, samples, contests.
type rebuildTally struct {
	mu       sync.Mutex
	res      bulk.LookupRebuild
	contests contestSet
}

func (t *rebuildTally) sample(s string) {
	if len(t.res.Samples) < maxSamples {
		t.res.Samples = append(t.res.Samples, s)
	}
}

// RebuildPropertyLookup derives lookup items from the properties table for the given names
// (list: names ignored), like upstream's scripts/backfill_property_lookup.py (§5.4): a
// consistent parallel segmented Scan of properties filtered on name (4 segments). Each
// matching row becomes a candidate lookup item (digest = LookupKey(name, value), owner), routed
// by a hash of the digest to one of 4 workers, so every contender for one key passes the same
// worker, one after the other. A worker takes up to 100 candidates at a time: it reads their
// digests in the lookup table and their owners in the actors table (BatchGetItem, consistent),
// then writes the missing lookup items (BatchWriteItem) before it takes the next batch.
//
// Counting, per matching row (Scanned): no lookup item yet → Written (the first row met for a
// key within this run is kept); an item of the same actor → Existing; an item of another actor
// → Collision, and the key is recorded in Contested (Kept: the owner of the item, Others: the
// actors whose rows were refused; at most MaxLookupContests keys). DynamoDB has no foreign key:
// rows whose owner has no actor row (and is not a reserved _actingweb_* id) are written like
// upstream's backfill does, and counted in Orphans as well as in Written/Existing/Collisions.
// Samples hold "name / actor" only, never values. Which of several actors sharing a value is
// met first depends on the scan's segments running in parallel, so it is not deterministic;
// Contested names all of them. Idempotent. Memory is bounded by the channels and batches
// (plus Contested), not by the table size.
//
// Concurrency: "first writer kept" holds per key within this run only. The items are written
// with BatchWriteItem, which takes no condition: a lookup item created by another writer (the
// application's CreatePropertyLookup/SetProperty, or a second rebuild) between a worker's read
// and its write is overwritten by the rebuild's candidate, and that other writer's claim is
// lost without a collision being counted. The earlier implementation (one PutItem under
// attribute_not_exists(lookup_key) per row) did coordinate with such writers: exactly one
// claim won. Run the rebuild while nothing else writes indexed properties (as a migration
// does), or rerun it afterwards: a rerun counts every key held by another actor as a Collision.
func (s *Store) RebuildPropertyLookup(ctx context.Context, names []string) (bulk.LookupRebuild, error) {
	f := s.newLookupFeed(ctx, names)
	if len(f.list) == 0 {
		return f.Close()
	}
	props := s.TableName(actingweb.TableProperties)
	in := func(seg int) *dynamodb.ScanInput {
		si := &dynamodb.ScanInput{TableName: aws.String(props), ConsistentRead: aws.Bool(true),
			Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(rebuildSegments)}
		if len(f.list) <= 100 { // IN takes at most 100 operands; filter client-side beyond
			vals := map[string]types.AttributeValue{}
			ph := make([]string, len(f.list))
			for i, n := range f.list {
				ph[i] = fmt.Sprintf(":n%d", i)
				vals[ph[i]] = avS(n)
			}
			si.FilterExpression = aws.String("#name IN (" + strings.Join(ph, ", ") + ")")
			si.ExpressionAttributeNames = map[string]string{"#name": "name"}
			si.ExpressionAttributeValues = vals
		}
		return si
	}
	var sg errgroup.Group
	for seg := 0; seg < rebuildSegments; seg++ {
		sg.Go(func() error {
			p := dynamodb.NewScanPaginator(s.client, in(seg))
			for p.HasMorePages() {
				out, err := p.NextPage(f.gctx)
				if err != nil {
					return s.tableErr("scan", props, err)
				}
				for _, item := range out.Items {
					rec, err := decodeRecord(actingweb.TableProperties, item)
					if err != nil {
						return fmt.Errorf("dynamodb: rebuild lookup from %s: %w", props, err)
					}
					if err := f.add(ctx, rec.(*actingweb.Property)); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	scanErr := sg.Wait()
	res, err := f.Close()
	if scanErr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = scanErr
	}
	return res, err
}

// NewLookupFeed starts the lookup-building half of RebuildPropertyLookup (its routed workers,
// BatchGetItem checks and BatchWriteItem writes, same counting) without the scan: the caller
// hands it the property rows it writes (bulk.LookupFeed). A migration into an empty
// properties table uses it to skip the rescan of properties after the copy. ctx bounds the
// feed's workers; Close must be called.
func (s *Store) NewLookupFeed(ctx context.Context, names []string) bulk.LookupFeed {
	return s.newLookupFeed(ctx, names)
}

// lookupFeed is the worker pool of a rebuild: candidates routed by digest to rebuildWorkers
// workers (every contender for one key passes the same worker, one after the other).
type lookupFeed struct {
	s      *Store
	want   map[string]bool
	list   []string
	g      *errgroup.Group
	gctx   context.Context
	queues []chan lookupCandidate
	tally  *rebuildTally
	once   sync.Once
}

func (s *Store) newLookupFeed(ctx context.Context, names []string) *lookupFeed {
	f := &lookupFeed{s: s, want: map[string]bool{},
		tally: &rebuildTally{contests: contestSet{byKey: map[string]*bulk.LookupContest{}}}}
	for _, n := range names {
		if n != "" && !strings.HasPrefix(n, "list:") && !f.want[n] {
			f.want[n] = true
			f.list = append(f.list, n)
		}
	}
	f.g, f.gctx = errgroup.WithContext(ctx)
	f.queues = make([]chan lookupCandidate, rebuildWorkers)
	for w := range f.queues {
		f.queues[w] = make(chan lookupCandidate, rebuildQueue)
		f.g.Go(func() error { return s.rebuildWorker(f.gctx, f.queues[w], f.tally) })
	}
	return f
}

// Add routes the candidates of props (indexed names only) to the workers.
func (f *lookupFeed) Add(ctx context.Context, props []*actingweb.Property) error {
	for _, p := range props {
		if err := f.add(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func (f *lookupFeed) add(ctx context.Context, p *actingweb.Property) error {
	if !f.want[p.Name] {
		return nil
	}
	c := lookupCandidate{digest: actingweb.LookupKey(p.Name, p.Value), owner: p.ID, name: p.Name, value: p.Value}
	h := fnv.New32a()
	h.Write([]byte(c.digest))
	select {
	case f.queues[h.Sum32()%rebuildWorkers] <- c:
		return nil
	case <-f.gctx.Done(): // a worker failed: Close returns its error
		return fmt.Errorf("dynamodb: lookup feed stopped: %w", context.Cause(f.gctx))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the queues and waits for the workers: the counts are final after it.
func (f *lookupFeed) Close() (bulk.LookupRebuild, error) {
	f.once.Do(func() {
		for _, q := range f.queues {
			close(q)
		}
	})
	err := f.g.Wait()
	f.tally.mu.Lock()
	defer f.tally.mu.Unlock()
	res := f.tally.res
	res.Contested, res.ContestedTruncated = f.tally.contests.list()
	return res, err
}

// rebuildWorker drains q in batches of rebuildBatch candidates (the last one possibly
// shorter), each settled (read, counted, written) before the next is taken.
func (s *Store) rebuildWorker(ctx context.Context, q <-chan lookupCandidate, tally *rebuildTally) error {
	batch := make([]lookupCandidate, 0, rebuildBatch)
	for c := range q {
		batch = append(batch, c)
		if len(batch) == rebuildBatch {
			if err := s.rebuildBatch(ctx, batch, tally); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.rebuildBatch(ctx, batch, tally)
}

// rebuildBatch settles one batch of candidates (in order): it reads the lookup items of their
// distinct digests and the actor rows of their distinct non-reserved owners (two consistent
// BatchGetItem reads, in parallel), counts each candidate against the owner known for its key
// (the existing item's, else the first candidate of the batch for that key, which is written),
// and writes the new items with batchWrite.
func (s *Store) rebuildBatch(ctx context.Context, batch []lookupCandidate, tally *rebuildTally) error {
	if len(batch) == 0 {
		return nil
	}
	lookups := s.TableName(actingweb.TablePropertyLookup)
	actors := s.TableName(actingweb.TableActors)
	var digestKeys, actorKeys []map[string]types.AttributeValue
	seenDigest, seenActor := map[string]bool{}, map[string]bool{}
	for _, c := range batch {
		if !seenDigest[c.digest] {
			seenDigest[c.digest] = true
			digestKeys = append(digestKeys, keyOf(&actingweb.PropertyLookup{LookupKey: c.digest}))
		}
		if !actingweb.IsReservedOwner(c.owner) && !seenActor[c.owner] {
			seenActor[c.owner] = true
			actorKeys = append(actorKeys, keyOf(&actingweb.Actor{ID: c.owner}))
		}
	}
	digestAttr, _ := keySchema(actingweb.TablePropertyLookup)
	ownerAttr := actingweb.Model(actingweb.TablePropertyLookup).Owner
	actorAttr, _ := keySchema(actingweb.TableActors)
	var existing, found []map[string]types.AttributeValue
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if existing, err = s.batchGet(gctx, lookups, digestKeys, true, digestAttr, ownerAttr); err != nil {
			return s.tableErr("read lookup items of", lookups, err)
		}
		return nil
	})
	g.Go(func() error {
		var err error
		if found, err = s.batchGet(gctx, actors, actorKeys, true, actorAttr); err != nil {
			return s.tableErr("read actors of", actors, err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	owner := make(map[string]string, len(digestKeys)) // digest -> owner of its item, now or once written
	for _, it := range existing {
		d, _, _ := getS(it, digestAttr)
		owner[d], _, _ = getS(it, ownerAttr)
	}
	hasActor := make(map[string]bool, len(found))
	for _, it := range found {
		id, _, _ := getS(it, actorAttr)
		hasActor[id] = true
	}

	var reqs []types.WriteRequest
	var written, existingN, collisions, orphans int64
	type note struct {
		sample string
		c      lookupCandidate
		kept   string // collision: the key's owner
	}
	var notes []note
	for _, c := range batch {
		kept, ok := owner[c.digest]
		switch {
		case !ok:
			l := actingweb.NewPropertyLookup(c.name, c.value, c.owner)
			item, err := encodeRecord(&l)
			if err != nil {
				return fmt.Errorf("dynamodb: rebuild lookup: encode %s item of %s / %s: %w", lookups, c.name, c.owner, err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
			owner[c.digest] = c.owner
			written++
		case kept == c.owner:
			existingN++
		default:
			collisions++
			notes = append(notes, note{sample: fmt.Sprintf("collision: %s / %s", c.name, c.owner), c: c, kept: kept})
		}
		if !actingweb.IsReservedOwner(c.owner) && !hasActor[c.owner] {
			orphans++
			notes = append(notes, note{sample: fmt.Sprintf("orphan (no actor row, lookup written): %s / %s", c.name, c.owner)})
		}
	}
	if err := s.batchWrite(ctx, lookups, reqs); err != nil {
		return s.tableErr("write lookup items to", lookups, err)
	}
	tally.mu.Lock()
	defer tally.mu.Unlock()
	tally.res.Scanned += int64(len(batch))
	tally.res.Written += written
	tally.res.Existing += existingN
	tally.res.Collisions += collisions
	tally.res.Orphans += orphans
	for _, n := range notes {
		tally.sample(n.sample)
		if n.c.digest != "" { // a collision
			l := actingweb.PropertyLookup{PropertyName: n.c.name, LookupKey: n.c.digest}
			tally.contests.add(&l, n.c.value, n.kept, n.c.owner)
		}
	}
	return nil
}

// maxSamples bounds LookupRebuild.Samples.
const maxSamples = 10

// contestSet collects the contested lookup keys of a rebuild (guarded by rebuildTally.mu).
type contestSet struct {
	byKey     map[string]*bulk.LookupContest
	truncated bool
}

// add records that actor lost key l (name, value) to owner.
func (c *contestSet) add(l *actingweb.PropertyLookup, value, owner, actor string) {
	lc := c.byKey[l.LookupKey]
	if lc == nil {
		if len(c.byKey) >= bulk.MaxLookupContests {
			c.truncated = true
			return
		}
		// copies: the strings may share memory with the rest of their source page
		// (ScanOptions.Retain), and contests are kept until the end
		lc = &bulk.LookupContest{PropertyName: strings.Clone(l.PropertyName), Value: strings.Clone(value),
			LookupKey: strings.Clone(l.LookupKey), Kept: strings.Clone(owner)}
		c.byKey[lc.LookupKey] = lc
	}
	if actor != lc.Kept && !slices.Contains(lc.Others, actor) {
		lc.Others = append(lc.Others, strings.Clone(actor))
	}
}

// list returns the contests ordered by name and lookup key, Others sorted.
func (c *contestSet) list() ([]bulk.LookupContest, bool) {
	out := make([]bulk.LookupContest, 0, len(c.byKey))
	for _, lc := range c.byKey {
		slices.Sort(lc.Others)
		out = append(out, *lc)
	}
	slices.SortFunc(out, func(a, b bulk.LookupContest) int {
		if a.PropertyName != b.PropertyName {
			return strings.Compare(a.PropertyName, b.PropertyName)
		}
		return strings.Compare(a.LookupKey, b.LookupKey)
	})
	return out, c.truncated
}
