// Package bundle is the export bundle format of actingweb-go (docs/bundle-format.md): a
// directory (0700) holding manifest.json and one JSON Lines file per table, <table>.jsonl or
// <table>.jsonl.gz (0600, they hold passphrases and trust secrets), each line one canonical
// record of the root package encoded with encoding/json.
//
// Writer appends records as a migrate sink (streaming, SHA-256 computed on the fly, manifest
// written last and atomically, resumable by cutting a table file back to a checkpoint). Reader
// streams records as a migrate source, validates the manifest and checksums, and reports
// malformed lines as rejects with their file:line position. Reader also accepts upstream's
// <table>.json array files when no manifest exists.
package bundle

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
)

// Format is the manifest's "format" value.
const Format = "actingweb-bundle"

// FormatVersion is the bundle format version this package writes and reads.
const FormatVersion = 1

// ManifestFile is the manifest's file name inside a bundle directory.
const ManifestFile = "manifest.json"

// ToolVersion is written to manifests as tool_version (set by the CLI at build time).
var ToolVersion = "actingweb-go dev"

// Manifest is manifest.json.
type Manifest struct {
	Format        string               `json:"format"`
	FormatVersion int                  `json:"format_version"`
	ToolVersion   string               `json:"tool_version"`
	Source        string               `json:"source"` // Describe() of the source, never a password
	StartedAt     time.Time            `json:"started_at"`
	FinishedAt    time.Time            `json:"finished_at"`
	Tables        map[string]TableFile `json:"tables"`
}

// TableFile is a manifest entry: one table's file.
type TableFile struct {
	File       string `json:"file"`       // file name inside the bundle directory
	Rows       int64  `json:"rows"`       // lines (records) in the file
	Bytes      int64  `json:"bytes"`      // file size as stored (compressed size for .gz)
	SHA256     string `json:"sha256"`     // lowercase hex digest of the file as stored
	Compressed bool   `json:"compressed"` // gzip (possibly several members)
}

// ErrFormat: the directory is not a bundle this version can read (bad manifest, unknown
// format_version, checksum or row count mismatch).
var ErrFormat = errors.New("bundle format error")

// ReadManifest reads and checks dir/manifest.json. A missing manifest returns an error
// wrapping os.ErrNotExist.
// The manifest must be a regular file (not a symbolic link) that others cannot write, as for
// Open with default ReaderOptions.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := readManifestBytes(dir, ReaderOptions{})
	if err != nil {
		return nil, err
	}
	return parseManifest(filepath.Join(dir, ManifestFile), b)
}

// parseManifest decodes and checks the manifest bytes b read from path p.
func parseManifest(p string, b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, p, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: %s: format is %q, want %q", ErrFormat, p, m.Format, Format)
	}
	if m.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: %s: format_version %d is not supported by this tool (it reads version %d); use a matching actingweb release",
			ErrFormat, p, m.FormatVersion, FormatVersion)
	}
	for name, tf := range m.Tables {
		if _, err := actingweb.ParseTable(name); err != nil {
			return nil, fmt.Errorf("%s: table %q: %w", p, name, err)
		}
		if tf.File == "" || filepath.Base(tf.File) != tf.File {
			return nil, fmt.Errorf("%w: %s: table %s: file %q must be a plain file name", ErrFormat, p, name, tf.File)
		}
	}
	return &m, nil
}

// writeFileAtomic writes b to path through a temporary file and a rename (0600).
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(name)
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(name)
		return err
	}
	return os.Rename(name, path)
}

// WriteFileAtomic writes b to path (0600) through a temporary file in the same directory and a
// rename, so readers see the old or the new content, never a part. Exported for migrate's
// checkpoint files.
func WriteFileAtomic(path string, b []byte) error { return writeFileAtomic(path, b) }

func newHash() hash.Hash { return sha256.New() }
