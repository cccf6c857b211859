package migrate

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"

	actingweb "github.com/actingweb/actingweb-go"
)

// ActorSet limits a run to the rows of some actors (a pilot: "first process a few hundred,
// validate, before increasing"): every table's rows whose owner (Record.Owner: the actor id;
// the owner named by a property lookup row) is in the set. Reserved owners (_actingweb_*) are
// moved only when listed. A nil set means every row.
type ActorSet map[string]bool

// ReadActorsFile reads an ActorSet from a file of one actor id per line; blank lines and lines
// starting with '#' are skipped, surrounding spaces trimmed. An empty list is an error.
func ReadActorsFile(path string) (ActorSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("actors file: %w", err)
	}
	defer f.Close()
	set := ActorSet{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		id := strings.TrimSpace(sc.Text())
		if id == "" || strings.HasPrefix(id, "#") {
			continue
		}
		set[id] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("actors file %s: %w", path, err)
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("actors file %s: %w: no actor ids in it", path, actingweb.ErrInvalid)
	}
	return set, nil
}

// Has reports whether the set admits r (always, for a nil set).
func (s ActorSet) Has(r actingweb.Record) bool { return s == nil || s[r.Owner()] }

// filter returns the records of recs the set admits (recs itself for a nil set).
func (s ActorSet) filter(recs []actingweb.Record) []actingweb.Record {
	if s == nil {
		return recs
	}
	out := make([]actingweb.Record, 0, len(recs))
	for _, r := range recs {
		if s[r.Owner()] {
			out = append(out, r)
		}
	}
	return out
}

// digest names the set in run.json ("" for nil): SHA-256 of the sorted ids, with their count.
func (s ActorSet) digest() string {
	if s == nil {
		return ""
	}
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return fmt.Sprintf("%d actors, sha256 %s", len(ids), hex.EncodeToString(h[:8]))
}
