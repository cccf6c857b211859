package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/bulk"
	"github.com/actingweb/actingweb-go/capture"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// streamWait bounds every wait of these tests for the stream to deliver.
const streamWait = 60 * time.Second

// openStreamStore is openTestStore with the nine streams enabled.
func openStreamStore(t *testing.T) *Store {
	t.Helper()
	s := openTestStore(t, true)
	changed, err := s.EnableStreams(context.Background())
	if err != nil {
		t.Fatalf("EnableStreams: %v", err)
	}
	if len(changed) != len(actingweb.Tables) {
		t.Fatalf("EnableStreams changed %v, want all nine tables", changed)
	}
	return s
}

// errEnough stops a Stream once the test has what it waits for.
var errEnough = errors.New("enough")

// collect runs c.Stream from from until until(changes so far) holds, within streamWait, and
// returns the batches delivered. until gets the batch just delivered and every change so far.
func collect(t *testing.T, c capture.Capture, from string, max int, until func(b capture.Batch, all []capture.Change) bool) []capture.Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), streamWait)
	defer cancel()
	var batches []capture.Batch
	var changes []capture.Change
	err := c.Stream(ctx, from, max, func(b capture.Batch) error {
		if len(b.Changes) > max {
			return fmt.Errorf("batch of %d changes, max %d", len(b.Changes), max)
		}
		batches = append(batches, b)
		changes = append(changes, b.Changes...)
		if until(b, changes) {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("Stream: %v (after %d changes: %s)", err, len(changes), describeChanges(changes))
	}
	return batches
}

func allChanges(bs []capture.Batch) []capture.Change {
	var out []capture.Change
	for _, b := range bs {
		out = append(out, b.Changes...)
	}
	return out
}

func describeChanges(cs []capture.Change) string {
	var b strings.Builder
	for _, c := range cs {
		op := "upsert"
		if c.Delete {
			op = "delete"
		}
		fmt.Fprintf(&b, "\n  %s %s %s", op, c.Table, actingweb.KeyString(c.Record.Key()))
	}
	return b.String()
}

// TestEnableStreamsIdempotent: the first call enables NEW_AND_OLD_IMAGES streams on the nine
// tables, the second changes nothing.
func TestEnableStreamsIdempotent(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	ctx := context.Background()
	again, err := s.EnableStreams(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second EnableStreams: %v %v, want nothing changed", again, err)
	}
	for _, tb := range actingweb.Tables {
		d, err := s.describe(ctx, tb)
		if err != nil {
			t.Fatal(err)
		}
		if sp := d.StreamSpecification; sp == nil || !aws.ToBool(sp.StreamEnabled) || sp.StreamViewType != StreamViewType {
			t.Fatalf("%s: stream specification %+v", s.TableName(tb), sp)
		}
	}
}

// TestOpenCaptureRefusesTableWithoutStream: a table without a stream is named, with the
// command that enables streams.
func TestOpenCaptureRefusesTableWithoutStream(t *testing.T) {
	t.Parallel()
	s := openTestStore(t, true)
	_, err := s.OpenCapture(context.Background(), "sync1", true)
	if !errors.Is(err, actingweb.ErrSchema) || !strings.Contains(err.Error(), s.TableName(actingweb.TableActors)) ||
		!strings.Contains(err.Error(), "actingweb schema upgrade --to dynamodb --streams") {
		t.Fatalf("OpenCapture without streams: %v", err)
	}
	if _, err := s.OpenCapture(context.Background(), "bad name", true); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("OpenCapture with a bad name: %v", err)
	}
}

// TestCaptureApplicationChanges: changes made through the application face arrive in order
// with the records the tables hold, the lookup table's included; applied batch by batch to
// another prefix through ApplyChanges they give the same rows (GetRecord, CompareRecords).
func TestCaptureApplicationChanges(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	target := openTestStore(t, true)
	ctx := context.Background()
	c, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoadSource() != bulk.TableStore(s) || c.Start() == "" {
		t.Fatalf("fresh capture: load source %v, start %q", c.LoadSource(), c.Start())
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600000, time.UTC)
	must(s.CreateActor(ctx, actingweb.Actor{ID: "a1", Creator: "Alice@Example.com", Passphrase: "pw1"}))
	must(s.CreateActor(ctx, actingweb.Actor{ID: "a2", Creator: "bob", Passphrase: "pw2"}))
	must(s.SetProperty(ctx, "a1", "email", "alice@example.com")) // indexed: a lookup row
	must(s.SetProperty(ctx, "a1", "color", "blue"))
	must(s.SetProperty(ctx, "a1", "email", "alice2@example.com")) // old lookup row deleted, new added
	must(s.SetAttribute(ctx, "a1", "bucket", "n:1", json.RawMessage(`{"x": [1, 2.5, "é"]}`), &ts, 0))
	must(s.CreateTrust(ctx, actingweb.Trust{ID: "a1", PeerID: "p1", BaseURI: "https://peer/p1", Type: "urn:x",
		Relationship: "friend", Secret: "s3cret", Approved: true}))
	must(s.CreatePeerTrustee(ctx, actingweb.PeerTrustee{ID: "a1", PeerID: "p2", BaseURI: "https://peer/p2", Type: "t", Passphrase: "pp"}))
	must(s.CreateSubscription(ctx, actingweb.Subscription{ID: "a1", PeerID: "p1", SubID: "sub1", Target: ptr("properties"), Callback: true}))
	_, err = s.AddDiff(ctx, "a1", "p1", "sub1", `{"color": "blue"}`)
	must(err)
	_, err = s.Suspend(ctx, "a1", "properties", "color")
	must(err)
	must(s.DeleteProperty(ctx, "a1", "color"))
	must(s.DeleteActor(ctx, "a2"))
	must(s.DeleteActor(ctx, "a1")) // the actor row and its email lookup row; the rest stays

	// Every table's final state (a Scan) is what the stream says, key by key.
	want := map[string]actingweb.Record{} // table/key -> record, for the rows that exist now
	for _, tb := range actingweb.Tables {
		recs, _ := scanAll(t, s, tb, bulk.ScanOptions{})
		for _, r := range recs {
			want[string(tb)+"/"+r.Key()] = r
		}
	}
	const total = 19 // every item write the calls above made (checked against the list below)
	batches := collect(t, c, "", 4, func(_ capture.Batch, cs []capture.Change) bool { return len(cs) >= total })
	changes := allChanges(batches)
	type step struct {
		table  actingweb.Table
		delete bool
		key    string
	}
	email1 := actingweb.LookupKey("email", "alice@example.com")
	email2 := actingweb.LookupKey("email", "alice2@example.com")
	k := func(parts ...string) string { return strings.Join(parts, actingweb.KeySep) }
	steps := []step{ // per table, in the order made
		{actingweb.TableActors, false, "a1"}, {actingweb.TableActors, false, "a2"},
		{actingweb.TableActors, true, "a2"}, {actingweb.TableActors, true, "a1"},
		{actingweb.TableProperties, false, k("a1", "email")}, {actingweb.TableProperties, false, k("a1", "color")},
		{actingweb.TableProperties, false, k("a1", "email")}, {actingweb.TableProperties, true, k("a1", "color")},
		{actingweb.TablePropertyLookup, false, email1}, {actingweb.TablePropertyLookup, true, email1},
		{actingweb.TablePropertyLookup, false, email2}, {actingweb.TablePropertyLookup, true, email2},
		{actingweb.TableAttributes, false, k("a1", "bucket:n:1")},
		{actingweb.TableTrusts, false, k("a1", "p1")},
		{actingweb.TablePeerTrustees, false, k("a1", "p2")},
		{actingweb.TableSubscriptions, false, k("a1", "p1:sub1")}, {actingweb.TableSubscriptions, false, k("a1", "p1:sub1")},
		{actingweb.TableSubscriptionDiffs, false, k("a1", "sub1:1")},
		{actingweb.TableSubscriptionSuspensions, false, k("a1", "properties", "color")},
	}
	if len(steps) != total || len(changes) != total {
		t.Fatalf("got %d changes, want %d:%s", len(changes), total, describeChanges(changes))
	}
	for _, tb := range actingweb.Tables {
		var got, exp []step
		for _, ch := range changes {
			if ch.Table != tb || ch.Record.Table() != tb {
				continue
			}
			got = append(got, step{tb, ch.Delete, ch.Record.Key()})
		}
		for _, st := range steps {
			if st.table == tb {
				exp = append(exp, st)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("%s: changes %v, want %v", tb, got, exp)
		}
	}
	// The last upsert of each key equals the row the table holds; deleted rows are gone.
	final := map[string]capture.Change{}
	for _, ch := range changes {
		final[string(ch.Table)+"/"+ch.Record.Key()] = ch
	}
	for key, ch := range final {
		w, exists := want[key]
		switch {
		case ch.Delete && exists:
			t.Errorf("%s: deleted in the stream, present in the table", key)
		case !ch.Delete && !exists:
			t.Errorf("%s: upserted in the stream, absent from the table", key)
		case !ch.Delete:
			if d := actingweb.CompareRecords(w, ch.Record); len(d) > 0 {
				t.Errorf("%s: stream record differs from the table's: %+v", key, d)
			}
		}
	}
	// A deleted row comes with its whole old item (NEW_AND_OLD_IMAGES).
	for _, ch := range changes {
		if a, ok := ch.Record.(*actingweb.Actor); ok && ch.Delete && a.ID == "a1" && a.Passphrase != "pw1" {
			t.Errorf("delete of a1 carries %+v, want the old item", a)
		}
	}
	if !batches[len(batches)-1].SourceTime.After(time.Now().Add(-10 * time.Minute)) {
		t.Errorf("SourceTime %v", batches[len(batches)-1].SourceTime)
	}

	// Apply batch by batch (each batch's final state per key) to another prefix.
	for _, b := range batches {
		last := map[string]capture.Change{}
		var order []string
		for _, ch := range b.Changes {
			key := string(ch.Table) + "/" + ch.Record.Key()
			if _, seen := last[key]; !seen {
				order = append(order, key)
			}
			last[key] = ch
		}
		var ups, dels []actingweb.Record
		for _, key := range order {
			if ch := last[key]; ch.Delete {
				dels = append(dels, ch.Record)
			} else {
				ups = append(ups, ch.Record)
			}
		}
		if err := target.ApplyChanges(ctx, ups, dels); err != nil {
			t.Fatalf("ApplyChanges: %v", err)
		}
	}
	for key, ch := range final {
		got, err := target.GetRecord(ctx, ch.Record)
		w, exists := want[key]
		switch {
		case !exists:
			if !errors.Is(err, actingweb.ErrNotFound) {
				t.Errorf("%s: target GetRecord %v %v, want ErrNotFound", key, got, err)
			}
		case err != nil:
			t.Errorf("%s: target GetRecord: %v", key, err)
		default:
			if d := actingweb.CompareRecords(w, got); len(d) > 0 {
				t.Errorf("%s: target differs from source: %+v", key, d)
			}
		}
	}
}

func ptr(s string) *string { return &s }

// TestStreamContinuesFromPosition: a second Stream started from a batch's Position delivers
// exactly the changes after that batch, none repeated, none lost.
func TestStreamContinuesFromPosition(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	ctx := context.Background()
	c, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	name := func(i int) string { return fmt.Sprintf("p%02d", i) }
	for i := range n / 2 {
		if err := s.SetProperty(ctx, "a1", name(i), "v"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAttribute(ctx, "a1", "b", name(i), json.RawMessage(`1`), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	// First run: stop after the first two batches (7 changes at most each).
	first := collect(t, c, "", 7, func(_ capture.Batch, cs []capture.Change) bool { return len(cs) >= 8 })
	pos := first[len(first)-1].Position
	for i := n / 2; i < n; i++ {
		if err := s.SetProperty(ctx, "a1", name(i), "v"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAttribute(ctx, "a1", "b", name(i), json.RawMessage(`1`), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Attach (not fresh): the position is all a DynamoDB capture needs.
	c2, err := s.OpenCapture(ctx, "sync1", false)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Start() != "" {
		t.Fatalf("attached capture has start %q", c2.Start())
	}
	if err := c2.Stream(ctx, "", 10, func(capture.Batch) error { return nil }); !errors.Is(err, actingweb.ErrInvalid) {
		t.Fatalf("attached Stream without a position: %v, want ErrInvalid", err)
	}
	had := len(allChanges(first))
	second := collect(t, c2, pos, 7, func(_ capture.Batch, cs []capture.Change) bool { return had+len(cs) >= 2*n })
	all := append(allChanges(first), allChanges(second)...)
	props, attrs := []string{}, []string{}
	for _, ch := range all {
		switch r := ch.Record.(type) {
		case *actingweb.Property:
			props = append(props, r.Name)
		case *actingweb.Attribute:
			attrs = append(attrs, r.Name)
		}
	}
	var want []string
	for i := range n {
		want = append(want, name(i))
	}
	if fmt.Sprint(props) != fmt.Sprint(want) || fmt.Sprint(attrs) != fmt.Sprint(want) {
		t.Fatalf("properties %v\nattributes %v\nwant %v each", props, attrs, want)
	}
	if !strings.Contains(pos, `"seq"`) || !strings.Contains(pos, `"skip_before"`) {
		t.Fatalf("position %s", pos)
	}
}

// TestStreamHeartbeatAndSkip: a capture whose skip_before is after every record delivers no
// change, only empty batches, at most one a second, that move the position past the skipped
// record and then report the capture caught up.
func TestStreamHeartbeatAndSkip(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	ctx := context.Background()
	if err := s.CreateActor(ctx, actingweb.Actor{ID: "old", Creator: "c", Passphrase: "p"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePosition(c.Start(), s.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	p.SkipBefore = time.Now().Add(time.Hour)
	var beats []time.Time
	caughtUp := 0
	batches := collect(t, c, p.encode(), 10, func(b capture.Batch, _ []capture.Change) bool {
		beats = append(beats, time.Now())
		if b.CaughtUp {
			caughtUp++
		}
		return caughtUp >= 2
	})
	for i, b := range batches {
		if len(b.Changes) != 0 {
			t.Fatalf("batch %d: %d changes", i, len(b.Changes))
		}
		if i > 0 && beats[i].Sub(beats[i-1]) < StreamHeartbeatInterval-50*time.Millisecond {
			t.Fatalf("heartbeats %v apart", beats[i].Sub(beats[i-1]))
		}
	}
	q, err := parsePosition(batches[len(batches)-1].Position, s.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range q.Tables[string(actingweb.TableActors)].Shards {
		if sp.Seq == "" {
			t.Fatalf("the skipped record did not move the position: %s", batches[len(batches)-1].Position)
		}
	}
}

// TestStreamHistoryLost: a position of another stream (the table's stream was disabled and
// enabled again) fails with ErrHistoryLost naming the table, and so does a disabled stream.
func TestStreamHistoryLost(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	ctx := context.Background()
	c, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	start := c.Start()
	stream := func(from string) error {
		cctx, cancel := context.WithTimeout(ctx, streamWait)
		defer cancel()
		return c.Stream(cctx, from, 10, func(capture.Batch) error { return errEnough })
	}
	// A forged ARN.
	p, _ := parsePosition(start, s.Prefix())
	p.Tables[string(actingweb.TableTrusts)].StreamARN += "x"
	if err := stream(p.encode()); !errors.Is(err, capture.ErrHistoryLost) || !strings.Contains(err.Error(), s.TableName(actingweb.TableTrusts)) {
		t.Fatalf("other ARN: %v", err)
	}
	// Disabled, then enabled again: a new stream.
	name := s.TableName(actingweb.TableProperties)
	if _, err := s.client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	if err := stream(start); !errors.Is(err, capture.ErrHistoryLost) || !strings.Contains(err.Error(), name) {
		t.Fatalf("disabled stream: %v", err)
	}
	changed, err := s.EnableStreams(ctx)
	if err != nil || len(changed) != 1 || changed[0] != name {
		t.Fatalf("EnableStreams after disabling %s: %v %v", name, changed, err)
	}
	if err := stream(start); !errors.Is(err, capture.ErrHistoryLost) || !strings.Contains(err.Error(), name) {
		t.Fatalf("re-enabled stream: %v", err)
	}
	// A new capture works.
	c2, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetProperty(ctx, "a", "n", "v"); err != nil {
		t.Fatal(err)
	}
	collect(t, c2, "", 10, func(_ capture.Batch, cs []capture.Change) bool { return len(cs) == 1 })
}

// TestStreamUndecodableRecord: an item the codec refuses stops the stream with an error naming
// table and key.
func TestStreamUndecodableRecord(t *testing.T) {
	t.Parallel()
	s := openStreamStore(t)
	ctx := context.Background()
	c, err := s.OpenCapture(ctx, "sync1", true)
	if err != nil {
		t.Fatal(err)
	}
	name := s.TableName(actingweb.TableTrusts)
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
		"id": avS("bad1"), "peerid": avS("peer9"), "secret": avS("s"), "approved": avN(1)}}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, streamWait)
	defer cancel()
	err = c.Stream(cctx, "", 10, func(capture.Batch) error { return nil })
	if !errors.Is(err, actingweb.ErrInvalid) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "bad1 / peer9") {
		t.Fatalf("undecodable record: %v", err)
	}
}

// TestStreamShardOrder: a child shard is read only once its parent is closed and every
// record of it delivered; the position then marks the parent done (no service needed).
func TestStreamShardOrder(t *testing.T) {
	t.Parallel()
	s := &Store{prefix: "p"}
	rec := func(seq, id string) stypes.Record {
		return stypes.Record{EventName: stypes.OperationTypeInsert, Dynamodb: &stypes.StreamRecord{
			SequenceNumber: aws.String(seq),
			Keys:           map[string]stypes.AttributeValue{"id": &stypes.AttributeValueMemberS{Value: id}},
			NewImage: map[string]stypes.AttributeValue{"id": &stypes.AttributeValueMemberS{Value: id},
				"creator": &stypes.AttributeValueMemberS{Value: "c"}, "passphrase": &stypes.AttributeValueMemberS{Value: "p"}}}}
	}
	parent := &shardState{id: "shardId-1", exhausted: true, buf: []stypes.Record{rec("01", "a"), rec("02", "b"), rec("03", "c")}}
	child := &shardState{id: "shardId-2", parent: "shardId-1"}
	ts := &tableState{t: actingweb.TableActors, arn: "arn1", shards: map[string]*shardState{parent.id: parent, child.id: child},
		order: []*shardState{parent, child}}
	r := &streamReader{s: s, p: &position{V: positionVersion, Prefix: "p"}, tables: []*tableState{ts}, max: 2}
	if ts.readable(child) {
		t.Fatal("child readable before its parent is done")
	}
	b, _, err := r.take()
	if err != nil || len(b.Changes) != 2 || parent.done || ts.readable(child) || b.CaughtUp {
		t.Fatalf("first take: %d changes, err %v, parent done %v", len(b.Changes), err, parent.done)
	}
	b, _, err = r.take()
	if err != nil || len(b.Changes) != 1 || !parent.done || !ts.readable(child) {
		t.Fatalf("second take: %d changes, err %v, parent done %v", len(b.Changes), err, parent.done)
	}
	if !strings.Contains(b.Position, `"shardId-1":{"done":true}`) || !strings.Contains(b.Position, `"shardId-2":{}`) {
		t.Fatalf("position %s", b.Position)
	}
	if got := b.Changes[0].Record.(*actingweb.Actor).ID; got != "c" {
		t.Fatalf("third change is %s", got)
	}
}

// TestStreamChangeKeysOnly: a REMOVE record without an old image (a NEW_IMAGE stream) is a
// delete of the key alone; a suspension's target_key is split at its first ':'.
func TestStreamChangeKeysOnly(t *testing.T) {
	t.Parallel()
	s := &Store{prefix: "p"}
	sv := func(v string) stypes.AttributeValue { return &stypes.AttributeValueMemberS{Value: v} }
	remove := func(keys map[string]stypes.AttributeValue) stypes.Record {
		return stypes.Record{EventName: stypes.OperationTypeRemove, Dynamodb: &stypes.StreamRecord{
			SequenceNumber: aws.String("000000000000000000001"), Keys: keys}}
	}
	ch, err := s.streamChange(actingweb.TableSubscriptionSuspensions, remove(map[string]stypes.AttributeValue{
		"id": sv("a1"), "target_key": sv("properties:color:x")}))
	if err != nil || !ch.Delete {
		t.Fatalf("suspension: %+v %v", ch, err)
	}
	if r := ch.Record.(*actingweb.SubscriptionSuspension); r.Target != "properties" || r.Subtarget != "color:x" || r.TargetKey() != "properties:color:x" {
		t.Fatalf("suspension key record %+v", r)
	}
	ch, err = s.streamChange(actingweb.TableAttributes, remove(map[string]stypes.AttributeValue{
		"id": sv("a1"), "bucket_name": sv("b:n")}))
	if err != nil || !ch.Delete || ch.Record.Key() != "a1"+actingweb.KeySep+"b:n" {
		t.Fatalf("attribute: %+v %v", ch, err)
	}
	// A key that is not a string is an error naming table and sequence number.
	_, err = s.streamChange(actingweb.TableActors, remove(map[string]stypes.AttributeValue{
		"id": &stypes.AttributeValueMemberN{Value: "1"}}))
	if !errors.Is(err, actingweb.ErrInvalid) || !strings.Contains(err.Error(), "p_actors") || !strings.Contains(err.Error(), "000000000000000000001") {
		t.Fatalf("bad key: %v", err)
	}
}
