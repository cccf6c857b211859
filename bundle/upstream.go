package bundle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
)

// WriteUpstreamArrays writes the tables of the bundle r into dir in the layout of upstream's
// migration script (scripts/migrate_dynamodb_to_postgresql.py export, docs/storage-model.md
// §7.1): one file <table>.json per data table (actors.json, properties.json, ...), each a JSON
// array of records laid out as Python's json.dump(records, f, indent=2) lays it out. Records
// keep their bundle form (Reader reads such files back, and so does upstream's import); the
// property lookup table is left out, as upstream leaves it out, because an import rebuilds it.
// Each file is streamed (memory does not grow with the table), written 0600 under a temporary
// name, synced and renamed into place. It returns the paths written; an error names the table.
func WriteUpstreamArrays(ctx context.Context, r *Reader, dir string) ([]string, error) {
	var paths []string
	for _, t := range actingweb.DataTables {
		if !r.Has(t) {
			continue
		}
		p := filepath.Join(dir, string(t)+".json")
		if err := writeUpstreamArray(ctx, r, t, p); err != nil {
			return paths, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeUpstreamArray(ctx context.Context, r *Reader, t actingweb.Table, path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after the rename there is nothing left to remove
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("[")
	n := 0
	var line []byte
	var ind bytes.Buffer
	err = r.Scan(ctx, t, bulk.ScanOptions{}, func(p bulk.Page) error {
		if len(p.Rejects) > 0 {
			return fmt.Errorf("row %s cannot be read: %s", p.Rejects[0].Key, p.Rejects[0].Reason)
		}
		for _, rec := range p.Records {
			line, err = AppendRecordJSON(line[:0], rec)
			if err != nil {
				return err
			}
			ind.Reset()
			if err := json.Indent(&ind, line, "  ", "  "); err != nil {
				return err
			}
			if n > 0 {
				w.WriteString(",")
			}
			w.WriteString("\n  ")
			w.Write(ind.Bytes())
			n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		w.WriteString("\n")
	}
	w.WriteString("]")
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
