package migrate

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"golang.org/x/sync/errgroup"
)

// Validate works in two passes per table (docs/bundle-format.md "Validation"):
//
//  1. Both sides are streamed at once (segmented scans). Each record goes to partition
//     hash(owner) mod P; per side and partition the pass keeps the row count and an
//     order-independent digest (the sums of a 128-bit seeded hash over key and canonical
//     record, digest). Owners without an actor row are counted against a sorted set of 64-bit
//     actor id hashes (8 bytes per actor).
//  2. Partitions whose counts or digests differ are re-read, as many at a time as fit in
//     MemoryRows: side A's rows of those partitions are loaded into a map by key, side B's are
//     matched against it, giving changed, missing, extra and duplicate keys. Memory is bounded
//     by MemoryRows, not by table size.

type partAcc struct {
	n      int64
	s1, s2 uint64
}

type sideAcc struct {
	parts   []partAcc
	rejects int64
	orphans int64
	orphanK []string
}

func (o *ValidateOptions) defaults() {
	if o.Partitions <= 0 {
		o.Partitions = 1024
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = 20
	}
	if o.MemoryRows <= 0 {
		o.MemoryRows = 200000
	}
	if o.Segments <= 0 {
		o.Segments = defaultSegments
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

type validator struct {
	o    ValidateOptions
	seed maphash.Seed
	// actor id hash sets per side (sorted), nil when not loaded
	actorsA, actorsB []uint64
	drillMu          sync.Mutex
}

func validate(ctx context.Context, a, b bulk.Source, o ValidateOptions) (*ValidationReport, error) {
	o.defaults()
	v := &validator{o: o, seed: maphash.MakeSeed()}
	rep := &ValidationReport{A: describe(a), B: describe(b), Started: time.Now().UTC(), Equal: true}
	tables := o.Tables
	if len(tables) == 0 {
		tables = actingweb.Tables
	}
	want := map[actingweb.Table]bool{}
	for _, t := range tables {
		if actingweb.NewRecord(t) == nil {
			return nil, fmt.Errorf("validate: %w: %q", actingweb.ErrUnknownTable, t)
		}
		want[t] = true
	}
	if o.SkipLookup {
		delete(want, actingweb.TablePropertyLookup)
	}
	// the actor sets are needed for the orphan check of every other table
	needActors := false
	for t := range want {
		if t != actingweb.TableActors {
			needActors = true
		}
	}
	if needActors && !want[actingweb.TableActors] {
		var err error
		if v.actorsA, v.actorsB, err = v.actorSets(ctx, a, b); err != nil {
			return nil, err
		}
	}
	// actors first (the orphan checks of the other tables need its id sets), then the others
	// defaultTablePar at a time, as a copy moves them (each table's two sides are read at once)
	var order []actingweb.Table
	for _, t := range actingweb.Tables {
		if want[t] {
			order = append(order, t)
		}
	}
	results := make([]*TableValidation, len(order))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(defaultTablePar)
	for i, t := range order {
		if t == actingweb.TableActors {
			tv, err := v.table(ctx, a, b, t)
			if err != nil {
				return nil, fmt.Errorf("validate %s: %w", t, err)
			}
			results[i] = tv
			continue
		}
		g.Go(func() error {
			tv, err := v.table(gctx, a, b, t)
			if err != nil {
				return fmt.Errorf("validate %s: %w", t, err)
			}
			results[i] = tv
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, tv := range results {
		rep.Tables = append(rep.Tables, *tv)
		if !tv.Equal {
			rep.Equal = false
		}
	}
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// segments is the number of scan segments per side, at most what the source can split a table
// into (bulk.Capabilities.MaxSegments).
func (v *validator) segments(caps bulk.Capabilities) int {
	n := v.o.Segments
	if caps.MaxSegments > 0 && n > caps.MaxSegments {
		n = caps.MaxSegments
	}
	return n
}

// validatePageSize is the scan page size of validate, or the source's declared PageSize when larger
// (DynamoDB: every page is a request; 1000-item pages made the scan of properties 40% slower
// than the copy's).
const validatePageSize = 2000

// scanAheadPages is how many pages a segment's scan may read ahead of the hashing of its pages.
const scanAheadPages = 2

// scanAll streams table t of s with segmented scans; fn is called concurrently, with the
// segment index, never for the same segment at once. Each segment's pages are handed to a
// goroutine of their own, so the scan requests the next page while fn digests the last one
// (on DynamoDB a page is a round trip: without this the segment would idle while hashing).
func (v *validator) scanAll(ctx context.Context, s bulk.Source, t actingweb.Table, fn func(seg int, p bulk.Page) error) (int, error) {
	return v.scan(ctx, s, t, false, fn)
}

// scan is scanAll; retain sets ScanOptions.Retain (the drill-down keeps records).
func (v *validator) scan(ctx context.Context, s bulk.Source, t actingweb.Table, retain bool, fn func(seg int, p bulk.Page) error) (int, error) {
	caps := s.Capabilities(ctx)
	n := v.segments(caps)
	split := scanSplit(ctx, s, t, n, true)
	g, gctx := errgroup.WithContext(ctx)
	for seg := 0; seg < n; seg++ {
		pages := make(chan bulk.Page, scanAheadPages)
		g.Go(func() error {
			defer close(pages)
			for j := 0; j < split; j++ { // ScanSplitter: split segments one after another
				opts := bulk.ScanOptions{Segment: seg*split + j, TotalSegments: n * split, PageSize: validatePageSize,
					Consistent: v.o.Consistent, Retain: retain, AnyOrder: true}
				opts.PageSize = max(opts.PageSize, caps.PageSize)
				if opts.TotalSegments == 1 {
					opts.TotalSegments = 0
				}
				err := s.Scan(gctx, t, opts, func(p bulk.Page) error {
					select {
					case pages <- p:
						return nil
					case <-gctx.Done():
						return gctx.Err()
					}
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		g.Go(func() error {
			for p := range pages {
				p.Records = v.o.Actors.filter(p.Records)
				if err := fn(seg, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return n, g.Wait()
}

func (v *validator) actorSets(ctx context.Context, a, b bulk.Source) (sa, sb []uint64, err error) {
	load := func(s bulk.Source) ([]uint64, error) {
		var mu sync.Mutex
		out := []uint64{} // non-nil: an empty actors table makes every owner an orphan
		_, err := v.scanAll(ctx, s, actingweb.TableActors, func(_ int, p bulk.Page) error {
			mu.Lock()
			for _, r := range p.Records {
				out = append(out, maphash.String(v.seed, r.Owner()))
			}
			mu.Unlock()
			return nil
		})
		slices.Sort(out)
		return out, err
	}
	g, _ := errgroup.WithContext(ctx)
	g.Go(func() (err error) { sa, err = load(a); return })
	g.Go(func() (err error) { sb, err = load(b); return })
	return sa, sb, g.Wait()
}

func hasActor(set []uint64, h uint64) bool {
	_, ok := slices.BinarySearch(set, h)
	return ok
}

func (v *validator) part(owner string) int {
	return int(maphash.String(v.seed, owner) % uint64(v.o.Partitions))
}

// digestBufs recycles digest's scratch buffers (one per record otherwise).
var digestBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// digestSeeds key the two 64-bit halves of a record digest. They are random per process:
// digests are summed and compared within one validate run only, never stored, so a seeded
// non-cryptographic hash (maphash: AES-based where the CPU has it) serves as well as SHA-256
// did, at a fraction of the CPU, and nobody can choose rows that collide without the seeds.
var digestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// digest is the order-independent contribution of one record: a 128-bit seeded hash of its
// key, NUL and its canonical form (actingweb.Canonical) in appendDigestFields's binary form.
func digest(r actingweb.Record) (uint64, uint64) {
	bp := digestBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	buf = append(buf, r.Key()...)
	buf = append(buf, 0)
	buf = appendDigestFields(buf, actingweb.Canonical(r))
	h1, h2 := maphash.Bytes(digestSeeds[0], buf), maphash.Bytes(digestSeeds[1], buf)
	if cap(buf) <= 1<<16 {
		*bp = buf
		digestBufs.Put(bp)
	}
	return h1, h2
}

// digestBuf appends fields in an unambiguous binary form: strings and payloads with their
// length, optional values with a presence byte, times as UTC seconds, nanoseconds and zone
// offset. Unlike the JSON form it needs no escaping (the escaping of JSON text in property
// values was most of validate's client CPU) and it tells apart strings that JSON would
// encode alike (invalid UTF-8, which both would have to hold to be equal anyway).
type digestBuf []byte

func (b digestBuf) str(s string) digestBuf {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func (b digestBuf) optStr(s *string) digestBuf {
	if s == nil {
		return append(b, 0)
	}
	return append(b, 1).str(*s)
}

func (b digestBuf) boolean(v bool) digestBuf {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func (b digestBuf) int(v int64) digestBuf { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func (b digestBuf) optInt(v *int64) digestBuf {
	if v == nil {
		return append(b, 0)
	}
	return append(b, 1).int(*v)
}

func (b digestBuf) time(t time.Time) digestBuf {
	_, off := t.Zone()
	b = b.int(t.Unix())
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()))
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}

func (b digestBuf) optTime(t *time.Time) digestBuf {
	if t == nil {
		return append(b, 0)
	}
	return append(b, 1).time(*t)
}

func (b digestBuf) payload(p json.RawMessage) digestBuf {
	if p == nil {
		return append(b, 0)
	}
	return append(binary.AppendUvarint(append(b, 1), uint64(len(p))), p...)
}

// appendDigestFields appends every field of the canonical record c, in the order of its table
// model (actingweb.Model; TestDigestFieldsComplete changes each field of each type in turn and
// checks the digest follows). Attribute payloads are in actingweb.CanonicalJSON form after
// Canonical, or kept as they are when CanonicalJSON refuses them, and hashed byte for byte: two
// such payloads that differ only in spacing digest differently, which costs a re-read of their
// partition (the second pass compares with actingweb.CompareRecords), never a false difference.
func appendDigestFields(buf []byte, c actingweb.Record) []byte {
	b := digestBuf(buf)
	m := actingweb.Model(c.Table())
	if m == nil { // not a record type of the nine tables: its Go syntax
		return append(b, fmt.Sprintf("%T %#v", c, c)...)
	}
	for i := range m.Fields {
		switch p := m.Fields[i].Ptr(c).(type) {
		case *string:
			b = b.str(*p)
		case **string:
			b = b.optStr(*p)
		case *bool:
			b = b.boolean(*p)
		case *int64:
			b = b.int(*p)
		case **int64:
			b = b.optInt(*p)
		case *time.Time:
			b = b.time(*p)
		case **time.Time:
			b = b.optTime(*p)
		case *json.RawMessage:
			b = b.payload(*p)
		}
	}
	return b
}

// pass1 accumulates one side.
func (v *validator) pass1(ctx context.Context, s bulk.Source, t actingweb.Table, actors *[]uint64, orphanKind string) (*sideAcc, error) {
	P := v.o.Partitions
	n := v.segments(s.Capabilities(ctx))
	locals := make([]*sideAcc, n)
	for i := range locals {
		locals[i] = &sideAcc{parts: make([]partAcc, P)}
	}
	var mu sync.Mutex
	var ids []uint64
	check := t != actingweb.TableActors && *actors != nil
	_, err := v.scanAll(ctx, s, t, func(seg int, p bulk.Page) error {
		acc := locals[seg]
		acc.rejects += int64(len(p.Rejects))
		for _, r := range p.Records {
			pa := &acc.parts[v.part(r.Owner())]
			d1, d2 := digest(r)
			pa.n++
			pa.s1 += d1
			pa.s2 += d2
			if t == actingweb.TableActors {
				mu.Lock()
				ids = append(ids, maphash.String(v.seed, r.Owner()))
				mu.Unlock()
			} else if check && !actingweb.IsReservedOwner(r.Owner()) && !hasActor(*actors, maphash.String(v.seed, r.Owner())) {
				acc.orphans++
				if len(acc.orphanK) < v.o.MaxDiffs {
					acc.orphanK = append(acc.orphanK, actingweb.KeyString(r.Key()))
				}
			}
		}
		if v.o.Progress != nil {
			v.o.Progress.Rows(t, len(p.Records)+len(p.Rejects))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t == actingweb.TableActors {
		if ids == nil {
			ids = []uint64{}
		}
		slices.Sort(ids)
		*actors = ids
	}
	out := &sideAcc{parts: make([]partAcc, P)}
	for _, l := range locals {
		out.rejects += l.rejects
		out.orphans += l.orphans
		for _, k := range l.orphanK {
			if len(out.orphanK) < v.o.MaxDiffs {
				out.orphanK = append(out.orphanK, k)
			}
		}
		for i := range l.parts {
			out.parts[i].n += l.parts[i].n
			out.parts[i].s1 += l.parts[i].s1
			out.parts[i].s2 += l.parts[i].s2
		}
	}
	return out, nil
}

func (v *validator) table(ctx context.Context, a, b bulk.Source, t actingweb.Table) (*TableValidation, error) {
	start := time.Now()
	tv := &TableValidation{Table: t}
	if v.o.Progress != nil {
		v.o.Progress.TableStarted(t, -1)
	}
	if t == actingweb.TablePropertyLookup {
		if done, err := v.lookupAbsent(ctx, a, b, tv); err != nil || done {
			tv.Duration = time.Since(start)
			if done && v.o.Progress != nil {
				v.o.Progress.TableDone(t, TableSummary{Table: t, Read: tv.CountA + tv.CountB, Duration: tv.Duration, Done: true})
			}
			return tv, err
		}
	}
	var accA, accB *sideAcc
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { accA, err = v.pass1(gctx, a, t, &v.actorsA, DiffOrphanA); return })
	g.Go(func() (err error) { accB, err = v.pass1(gctx, b, t, &v.actorsB, DiffOrphanB); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var differ []int
	for i := range accA.parts {
		pa, pb := accA.parts[i], accB.parts[i]
		tv.CountA += pa.n
		tv.CountB += pb.n
		if pa != pb {
			differ = append(differ, i)
		}
	}
	tv.RejectsA, tv.RejectsB = accA.rejects, accB.rejects
	tv.OrphansA, tv.OrphansB = accA.orphans, accB.orphans
	tv.PartitionsDiffer = len(differ)
	addDiff := func(d Difference) {
		if len(tv.Differences) < v.o.MaxDiffs {
			// Its own copy: side B's rows may share memory with the rest of their page.
			d.Record = cloneRecord(d.Record)
			tv.Differences = append(tv.Differences, d)
		} else {
			tv.DifferencesOmitted++
		}
	}
	for _, k := range accA.orphanK {
		addDiff(Difference{Table: t, Key: k, Kind: DiffOrphanA})
	}
	for _, k := range accB.orphanK {
		addDiff(Difference{Table: t, Key: k, Kind: DiffOrphanB})
	}
	tv.DifferencesOmitted += max(0, accA.orphans-int64(len(accA.orphanK))) + max(0, accB.orphans-int64(len(accB.orphanK)))
	if len(differ) > 0 {
		// one drill at a time: its memory (MemoryRows) is per run, not per table
		v.drillMu.Lock()
		defer v.drillMu.Unlock()
		if err := v.drill(ctx, a, b, t, differ, accA, accB, tv, addDiff); err != nil {
			return nil, err
		}
	}
	tv.Equal = len(differ) == 0 && tv.RejectsA == 0 && tv.RejectsB == 0 && tv.CountA == tv.CountB
	tv.Duration = time.Since(start)
	if v.o.Progress != nil {
		v.o.Progress.TableDone(t, TableSummary{Table: t, Read: tv.CountA + tv.CountB, Duration: tv.Duration, Done: true})
	}
	v.o.Logger.Info("table validated", "table", t, "count_a", tv.CountA, "count_b", tv.CountB, "equal", tv.Equal,
		"partitions_differ", tv.PartitionsDiffer, "duration", tv.Duration)
	return tv, nil
}

// drill re-reads the differing partitions in groups that fit in MemoryRows and lists the
// differences by key.
func (v *validator) drill(ctx context.Context, a, b bulk.Source, t actingweb.Table, differ []int, accA, accB *sideAcc, tv *TableValidation, addDiff func(Difference)) error {
	var groups [][]int
	var cur []int
	var rows int64
	for _, p := range differ {
		n := accA.parts[p].n
		if len(cur) > 0 && rows+n > int64(v.o.MemoryRows) {
			groups = append(groups, cur)
			cur, rows = nil, 0
		}
		cur = append(cur, p)
		rows += n
	}
	groups = append(groups, cur)
	for _, grp := range groups {
		in := make([]bool, v.o.Partitions)
		for _, p := range grp {
			in[p] = true
		}
		type entry struct {
			rec     actingweb.Record
			matched bool
		}
		var mu sync.Mutex
		mapA := map[string]*entry{}
		// side A's rows of the partitions go into mapA: Retain, so that they do not keep their
		// pages' shared chunks alive
		_, err := v.scan(ctx, a, t, true, func(_ int, p bulk.Page) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range p.Records {
				if !in[v.part(r.Owner())] {
					continue
				}
				k := r.Key()
				if _, dup := mapA[k]; dup {
					tv.DuplicatesA++
					addDiff(Difference{Table: t, Key: actingweb.KeyString(k), Kind: DiffDuplicateA})
					continue
				}
				mapA[k] = &entry{rec: r}
			}
			return nil
		})
		if err != nil {
			return err
		}
		seenB := map[string]bool{}
		_, err = v.scanAll(ctx, b, t, func(_ int, p bulk.Page) error {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range p.Records {
				if !in[v.part(r.Owner())] {
					continue
				}
				k := r.Key()
				if seenB[k] {
					tv.DuplicatesB++
					addDiff(Difference{Table: t, Key: actingweb.KeyString(k), Kind: DiffDuplicateB})
					continue
				}
				seenB[k] = true
				e, ok := mapA[k]
				if !ok {
					tv.OnlyInB++
					addDiff(Difference{Table: t, Key: actingweb.KeyString(k), Kind: DiffOnlyInB, Record: r})
					continue
				}
				e.matched = true
				if fd := actingweb.CompareRecords(e.rec, r); len(fd) > 0 {
					tv.Changed++
					addDiff(Difference{Table: t, Key: actingweb.KeyString(k), Kind: DiffChanged, Fields: fd, Record: e.rec})
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys := make([]string, 0)
		for k, e := range mapA {
			if !e.matched {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			tv.OnlyInA++
			addDiff(Difference{Table: t, Key: actingweb.KeyString(k), Kind: DiffOnlyInA, Record: mapA[k].rec})
		}
	}
	return nil
}

// WriteText renders the validation report for people: one line per table, then the listed
// differences (secret fields shown as differing only; keys, values and store names passed
// through actingweb.Printable, so none splits a line or reaches the terminal as a control or
// bidirectional formatting character).
// lookupAbsent handles a side without a property lookup table (hasTable): the table is not
// compared (no rows read, the counts stay 0) and tv says so; done is true then. A copy from such
// a side (a legacy-mode deployment, §2.4) builds the target's lookup table from its
// properties, which the properties comparison covers.
func (v *validator) lookupAbsent(ctx context.Context, a, b bulk.Source, tv *TableValidation) (done bool, err error) {
	t := actingweb.TablePropertyLookup
	hasA, err := hasTable(ctx, a, t)
	if err != nil {
		return false, err
	}
	hasB, err := hasTable(ctx, b, t)
	if err != nil {
		return false, err
	}
	var missing []string
	if !hasA {
		missing = append(missing, "A ("+describe(a)+")")
	}
	if !hasB {
		missing = append(missing, "B ("+describe(b)+")")
	}
	if len(missing) == 0 {
		return false, nil
	}
	tv.Equal = true
	tv.NotCompared = "side " + strings.Join(missing, " and side ") + " has no property lookup table " +
		"(a legacy-mode deployment, USE_PROPERTY_LOOKUP_TABLE=false); a copy builds the target's from its properties"
	v.o.Logger.Warn("property lookup table not compared", "why", tv.NotCompared)
	return true, nil
}

// hasTable reports whether s has table t (TableLister, TableProber; true for other sources).
func hasTable(ctx context.Context, s bulk.Source, t actingweb.Table) (bool, error) {
	switch x := s.(type) {
	case bulk.TableLister:
		return x.Has(t), nil
	case bulk.TableProber:
		ok, err := x.TableExists(ctx, t)
		if err != nil {
			return false, fmt.Errorf("does %s have table %s: %w", describe(s), t, err)
		}
		return ok, nil
	}
	return true, nil
}

func (r *ValidationReport) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "EQUAL"
	if !r.Equal {
		verdict = "DIFFERENT"
	}
	fmt.Fprintf(&b, "validate A=%s B=%s: %s\n", actingweb.Printable(r.A), actingweb.Printable(r.B), verdict)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tA rows\tB rows\tchanged\tonly A\tonly B\tdup A\tdup B\torphans A\torphans B\trejects\tseconds\tresult\t")
	for _, t := range r.Tables {
		res := "equal"
		switch {
		case !t.Equal:
			res = "DIFFERENT"
		case t.NotCompared != "":
			res = "not compared"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\t\n", t.Table, t.CountA, t.CountB, t.Changed,
			t.OnlyInA, t.OnlyInB, t.DuplicatesA, t.DuplicatesB, t.OrphansA, t.OrphansB, t.RejectsA+t.RejectsB, t.Duration.Seconds(), res)
	}
	tw.Flush()
	for _, t := range r.Tables {
		if t.NotCompared != "" {
			fmt.Fprintf(&b, "%s: not compared: %s\n", t.Table, actingweb.Printable(t.NotCompared))
		}
		for _, d := range t.Differences {
			fmt.Fprintf(&b, "%s %s: %s", d.Table, actingweb.Printable(d.Key), d.Kind)
			for i, f := range d.Fields {
				sep := ", "
				if i == 0 {
					sep = ": "
				}
				fmt.Fprintf(&b, "%s%s A=%s B=%s", sep, f.Field, shortValue(f.A), shortValue(f.B))
			}
			b.WriteByte('\n')
		}
		if t.DifferencesOmitted > 0 {
			fmt.Fprintf(&b, "%s: %d more differences not listed\n", t.Table, t.DifferencesOmitted)
		}
		if t.InFlight > 0 {
			fmt.Fprintf(&b, "%s: %d differences were in flight (gone when read again), not counted above\n", t.Table, t.InFlight)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxShownValue is how many bytes of a differing field WriteText shows (the JSON report has
// them whole).
const maxShownValue = 200

// shortValue renders a differing field's value for people: printable, cut after
// maxShownValue bytes with the full length said.
func shortValue(v string) string {
	if len(v) <= maxShownValue {
		return actingweb.Printable(v)
	}
	cut := strings.ToValidUTF8(v[:maxShownValue], "")
	return fmt.Sprintf("%s… (%d bytes)", actingweb.Printable(cut), len(v))
}
