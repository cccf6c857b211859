package migrate

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/bundle"
)

func export(ctx context.Context, src bulk.Source, dir string, o Options) (*Report, error) {
	if o.StateDir == "" {
		o.StateDir = dir
	}
	name := o.SourceName
	if name == "" {
		name = describe(src)
	}
	if len(o.Tables) == 0 {
		o.Tables = actingweb.Tables // the lookup table is exported as derived data
		o.tablesDefaulted = true
	}
	if o.DryRun {
		return run(ctx, "export", src, &discard{name: "bundle " + dir}, o)
	}
	// One run per state directory and per bundle directory, taken before the bundle is
	// opened for writing.
	for _, d := range uniqueDirs(o.StateDir, dir) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, &RunError{Op: "export", Err: fmt.Errorf("create %s: %w", d, err)}
		}
		l, err := lockDir(d, stateLockFile, "export")
		if err != nil {
			return nil, &RunError{Op: "export", Err: err}
		}
		defer l.Close()
		if d == o.StateDir {
			o.stateLocked = true
		}
	}
	w, err := bundle.Create(dir, bundle.WriterOptions{Gzip: o.Gzip, Source: name, Resume: o.Resume, NoSync: o.NoSync,
		Validated: src.Capabilities(ctx).Validated})
	if err != nil {
		return nil, &RunError{Op: "export", Err: err}
	}
	rep, err := run(ctx, "export", src, w, o)
	if err != nil {
		w.Abort()
		return rep, err
	}
	if err := w.Close(); err != nil {
		return rep, &RunError{Op: "export", Report: rep, Err: err}
	}
	fin := w.Finished()
	for i := range rep.Tables {
		rep.Tables[i].Bytes = fin[rep.Tables[i].Table].Bytes
	}
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// importBundle opens the bundle in dir (Options.Bundle) and, before anything is written to
// dst (a resumed run included), verifies every table file against the manifest
// (bundle.Reader.Verify): a bundle changed or damaged since its export is refused whole, not
// after some of its rows.
func importBundle(ctx context.Context, dir string, dst bulk.Sink, o Options) (*Report, error) {
	r, err := bundle.OpenWith(dir, o.Bundle)
	if err != nil {
		return nil, &RunError{Op: "import", Err: err}
	}
	if r.Manifest() != nil {
		log := o.Logger
		if log == nil {
			log = slog.Default()
		}
		start := time.Now()
		n, err := r.Verify(ctx)
		if err != nil {
			return nil, &RunError{Op: "import", Err: err}
		}
		log.Info("bundle verified against its manifest", "dir", dir, "tables", len(r.Tables()), "bytes", n,
			"duration", time.Since(start).Round(time.Millisecond))
	}
	if o.StateDir == "" {
		o.StateDir = dir
	}
	if o.srcIdentity, err = bundleIdentity(dir, r); err != nil {
		return nil, &RunError{Op: "import", Err: err}
	}
	present := r.Tables()
	if len(o.Tables) == 0 {
		o.tablesDefaulted = true
		o.Tables = present
		if _, ok := dst.(bulk.LookupRebuilder); ok && r.Has(actingweb.TableProperties) {
			o.Tables = append(o.Tables, actingweb.TablePropertyLookup)
		}
	} else {
		_, rebuilder := dst.(bulk.LookupRebuilder)
		for _, t := range o.Tables {
			if !r.Has(t) && !(t == actingweb.TablePropertyLookup && rebuilder) {
				return nil, &RunError{Op: "import", Table: t, Err: fmt.Errorf("bundle %s has no table %s: %w", dir, t, actingweb.ErrNotFound)}
			}
		}
	}
	rep, err := run(ctx, "import", r, dst, o)
	if rep != nil && r.Manifest() != nil {
		for i := range rep.Tables {
			if tf, ok := r.Manifest().Tables[string(rep.Tables[i].Table)]; ok {
				rep.Tables[i].Bytes = tf.Bytes
			}
		}
	}
	return rep, err
}

// discard is the sink of a dry-run export: it counts and writes nothing.
type discard struct{ name string }

// Capabilities declares nothing: the engine's defaults.
func (d *discard) Capabilities(context.Context) bulk.Capabilities { return bulk.Capabilities{} }

func (d *discard) WriteBatch(_ context.Context, _ actingweb.Table, recs []actingweb.Record, _ bulk.ConflictPolicy) (bulk.WriteResult, error) {
	return bulk.WriteResult{Written: len(recs)}, nil
}
func (d *discard) Count(context.Context, actingweb.Table) (int64, error) { return 0, nil }
func (d *discard) Describe() string                                      { return d.name }

// uniqueDirs returns the directories named, each once (by cleaned absolute path).
func uniqueDirs(dirs ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			abs = filepath.Clean(d)
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, d)
		}
	}
	return out
}
