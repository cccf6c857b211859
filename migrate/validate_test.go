package migrate_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bundle"
	"github.com/actingweb/actingweb-go/migrate"
)

func TestValidateBundles(t *testing.T) {
	ctx := context.Background()
	data := genData(500)
	dirA := filepath.Join(t.TempDir(), "a")
	writeBundle(t, dirA, data)
	a, _ := bundle.Open(dirA)

	// equal to itself, with tiny memory (many drill-down groups are not needed) and few partitions
	rep, err := migrate.Validate(ctx, a, a, migrate.ValidateOptions{Partitions: 16})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal || len(rep.Tables) != 9 {
		t.Fatalf("self-compare not equal: %+v", rep)
	}

	// B: one changed field, one secret changed, one missing row, one extra row, an orphan
	mod := map[actingweb.Table][]actingweb.Record{}
	for tb, recs := range data {
		mod[tb] = append([]actingweb.Record(nil), recs...)
	}
	p := *(mod[actingweb.TableProperties][10].(*actingweb.Property))
	p.Value = "changed"
	mod[actingweb.TableProperties][10] = &p
	tr := *(mod[actingweb.TableTrusts][3].(*actingweb.Trust))
	tr.Secret = "other-secret"
	mod[actingweb.TableTrusts][3] = &tr
	missing := mod[actingweb.TablePeerTrustees][7]
	mod[actingweb.TablePeerTrustees] = append(mod[actingweb.TablePeerTrustees][:7], mod[actingweb.TablePeerTrustees][8:]...)
	mod[actingweb.TableAttributes] = append(mod[actingweb.TableAttributes], &actingweb.Attribute{ID: "ghost", BucketName: "b:x", Bucket: "b", Name: "x"})
	dirB := filepath.Join(t.TempDir(), "b")
	writeBundle(t, dirB, mod)
	b, _ := bundle.Open(dirB)

	rep, err = migrate.Validate(ctx, a, b, migrate.ValidateOptions{MemoryRows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Equal {
		t.Fatal("different bundles reported equal")
	}
	by := map[actingweb.Table]migrate.TableValidation{}
	for _, tv := range rep.Tables {
		by[tv.Table] = tv
	}
	if tv := by[actingweb.TableProperties]; tv.Changed != 1 || tv.Equal || len(tv.Differences) != 1 || tv.Differences[0].Fields[0].Field != "value" {
		t.Errorf("properties: %+v", tv)
	}
	if tv := by[actingweb.TableTrusts]; tv.Changed != 1 || tv.Differences[0].Fields[0].A != "<secret>" {
		t.Errorf("trusts: %+v", tv)
	}
	if tv := by[actingweb.TablePeerTrustees]; tv.OnlyInA != 1 || tv.Differences[0].Key != actingweb.KeyString(missing.Key()) {
		t.Errorf("peertrustees: %+v", tv)
	}
	if tv := by[actingweb.TableAttributes]; tv.OnlyInB != 1 || tv.OrphansB != 1 || tv.OrphansA != 0 {
		t.Errorf("attributes: %+v", tv)
	}
	for _, tb := range []actingweb.Table{actingweb.TableActors, actingweb.TableSubscriptions, actingweb.TablePropertyLookup} {
		if !by[tb].Equal {
			t.Errorf("%s reported different: %+v", tb, by[tb])
		}
	}
	var buf bytes.Buffer
	rep.WriteText(&buf)
	if strings.Contains(buf.String(), "other-secret") || strings.Contains(buf.String(), "secret-a") {
		t.Errorf("validation report shows a secret:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "DIFFERENT") {
		t.Errorf("text report:\n%s", buf.String())
	}
}
