package storetest

import (
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

func testProperties(t *testing.T, open Opener) {
	s := open(t)

	t.Run("SetGetOverwrite", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		must(t, s.SetProperty(ctx, id, "description", "first"), "SetProperty")
		v, err := s.GetProperty(ctx, id, "description")
		must(t, err, "GetProperty")
		eq(t, v, "first", "value")
		must(t, s.SetProperty(ctx, id, "description", "second"), "SetProperty overwrite")
		v, err = s.GetProperty(ctx, id, "description")
		must(t, err, "GetProperty")
		eq(t, v, "second", "value after overwrite")
		// JSON-looking and whitespace values are opaque strings, copied byte for byte.
		for _, val := range []string{`{"a": 1, "b": [true, null]}`, "  padded  ", "0", "false", "line1\nline2\ttab"} {
			must(t, s.SetProperty(ctx, id, "opaque", val), "SetProperty opaque")
			got, err := s.GetProperty(ctx, id, "opaque")
			must(t, err, "GetProperty opaque")
			eq(t, got, val, "opaque value")
		}
	})

	t.Run("GetMissing", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		_, err := s.GetProperty(ctx, id, "nothing")
		wantErr(t, err, actingweb.ErrNotFound, "GetProperty of a missing name")
		_, err = s.GetProperty(ctx, newID(t), "nothing")
		wantErr(t, err, actingweb.ErrNotFound, "GetProperty of a missing actor")
	})

	t.Run("SetEmptyDeletes", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		must(t, s.SetProperty(ctx, id, "gone", "value"), "SetProperty")
		must(t, s.SetProperty(ctx, id, "gone", ""), "SetProperty empty")
		_, err := s.GetProperty(ctx, id, "gone")
		wantErr(t, err, actingweb.ErrNotFound, "GetProperty after setting empty")
		all, err := s.ListAllProperties(ctx, id)
		must(t, err, "ListAllProperties")
		if _, ok := all["gone"]; ok {
			t.Fatalf("row %q still listed after SetProperty with empty value: %v", "gone", all)
		}
		must(t, s.SetProperty(ctx, id, "never", ""), "SetProperty empty on a missing row")
	})

	t.Run("Unicode", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		want := map[string]string{}
		for _, u := range unicodeSamples {
			name := "name " + u.value
			must(t, s.SetProperty(ctx, id, name, u.value), "SetProperty "+u.name)
			want[name] = u.value
			got, err := s.GetProperty(ctx, id, name)
			must(t, err, "GetProperty "+u.name)
			eq(t, got, u.value, u.name+" value")
		}
		// Precomposed and decomposed forms are different names (no normalisation).
		must(t, s.SetProperty(ctx, id, "caf\u00e9", "precomposed"), "SetProperty precomposed")
		must(t, s.SetProperty(ctx, id, "cafe\u0301", "decomposed"), "SetProperty decomposed")
		want["caf\u00e9"], want["cafe\u0301"] = "precomposed", "decomposed"
		all, err := s.ListProperties(ctx, id)
		must(t, err, "ListProperties")
		deepEq(t, all, want, "ListProperties with unicode names")
	})

	t.Run("LargeValue100KB", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		big := bigString(100 * 1024)
		must(t, s.SetProperty(ctx, id, "big", big), "SetProperty 100 KB")
		got, err := s.GetProperty(ctx, id, "big")
		must(t, err, "GetProperty 100 KB")
		if got != big {
			t.Fatalf("100 KB value: got %d bytes, want %d (content differs: %v)", len(got), len(big), len(got) == len(big))
		}
		bigUni := ""
		for len(bigUni) < 100*1024 {
			bigUni += uniMixed + uniEmoji
		}
		must(t, s.SetProperty(ctx, id, "bigUnicode", bigUni), "SetProperty 100 KB unicode")
		got, err = s.GetProperty(ctx, id, "bigUnicode")
		must(t, err, "GetProperty 100 KB unicode")
		if got != bigUni {
			t.Fatalf("100 KB unicode value: got %d bytes, want %d", len(got), len(bigUni))
		}
	})

	t.Run("NamesWithColon", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		names := []string{"a:b", "a:b:c", ":leading", "trailing:", "list:notes-meta", "list:notes-#V", "list:x:3"}
		want := map[string]string{}
		for i, n := range names {
			v := "v" + string(rune('0'+i))
			must(t, s.SetProperty(ctx, id, n, v), "SetProperty "+n)
			want[n] = v
		}
		for n, v := range want {
			got, err := s.GetProperty(ctx, id, n)
			must(t, err, "GetProperty "+n)
			eq(t, got, v, "value of "+n)
		}
		all, err := s.ListAllProperties(ctx, id)
		must(t, err, "ListAllProperties")
		deepEq(t, all, want, "ListAllProperties")
	})

	t.Run("Range", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		rows := map[string]string{
			"B": "upper", "a": "1", "b": "2", "b:1": "3", "b:2": "4", "b:3": "5", "c": "6", "z": "7",
			"\u00e9":       "e-acute", // 0xC3 0xA9: after every ASCII name in byte order
			"list:notes-#": "boundary-low", "list:notes-#0": "r0", "list:notes-#A": "rA",
			"list:notes-#a": "ra", "list:notes-$": "boundary-high", "list:notes-meta": "meta",
			"list:other-#0": "o0",
		}
		for n, v := range rows {
			must(t, s.SetProperty(ctx, id, n, v), "SetProperty "+n)
		}
		other := newID(t)
		createActor(t, s, other, "other@example.com")
		must(t, s.SetProperty(ctx, other, "b:1", "other actor"), "SetProperty other actor")

		sub := func(names ...string) map[string]string {
			m := map[string]string{}
			for _, n := range names {
				m[n] = rows[n]
			}
			return m
		}
		cases := []struct {
			name, lower, upper string
			want               map[string]string
		}{
			{"inclusive-both-bounds", "b", "b:2", sub("b", "b:1", "b:2")},
			{"single-name", "c", "c", sub("c")},
			{"byte-order-excludes-upper-case-and-non-ascii", "a", "z", sub("a", "b", "b:1", "b:2", "b:3", "c", "list:notes-#", "list:notes-#0", "list:notes-#A", "list:notes-#a", "list:notes-$", "list:notes-meta", "list:other-#0", "z")},
			{"upper-case-before-lower-case", "A", "Z", sub("B")},
			{"non-ascii-after-ascii", "{", "\U0010ffff", sub("\u00e9")},
			{"v2-list-rows", "list:notes-#", "list:notes-$", sub("list:notes-#", "list:notes-#0", "list:notes-#A", "list:notes-#a", "list:notes-$")},
			{"bounds-need-not-exist", "b:", "b:9", sub("b:1", "b:2", "b:3")},
			{"empty-range", "d", "k", map[string]string{}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := s.GetPropertyRange(ctx, id, c.lower, c.upper, false)
				must(t, err, "GetPropertyRange")
				if got == nil {
					t.Fatal("GetPropertyRange returned a nil map")
				}
				deepEq(t, got, c.want, "GetPropertyRange["+c.lower+", "+c.upper+"]")
				keys, err := s.GetPropertyRange(ctx, id, c.lower, c.upper, true)
				must(t, err, "GetPropertyRange keysOnly")
				wantKeys := map[string]string{}
				for k := range c.want {
					wantKeys[k] = ""
				}
				deepEq(t, keys, wantKeys, "GetPropertyRange keysOnly")
			})
		}

		last := []struct {
			name, lower, upper, want string
		}{
			{"v2-ranks-byte-order", "list:notes-#", "list:notes-#\U0010ffff", "list:notes-#a"},
			{"inclusive-upper", "b", "b:2", "b:2"},
			{"inclusive-lower-only", "c", "c", "c"},
			{"whole-ascii", "a", "z", "z"},
			{"upper-case-range", "A", "Z", "B"},
		}
		for _, c := range last {
			t.Run("Last/"+c.name, func(t *testing.T) {
				got, err := s.GetLastPropertyInRange(ctx, id, c.lower, c.upper)
				must(t, err, "GetLastPropertyInRange")
				eq(t, got, c.want, "GetLastPropertyInRange["+c.lower+", "+c.upper+"]")
			})
		}
		t.Run("Last/empty-range", func(t *testing.T) {
			_, err := s.GetLastPropertyInRange(ctx, id, "d", "k")
			wantErr(t, err, actingweb.ErrNotFound, "GetLastPropertyInRange of an empty range")
			_, err = s.GetLastPropertyInRange(ctx, newID(t), "a", "z")
			wantErr(t, err, actingweb.ErrNotFound, "GetLastPropertyInRange of an unknown actor")
		})
	})

	t.Run("CreatePropertyIfNotExists", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		ok, err := s.CreatePropertyIfNotExists(ctx, id, "once", "v1")
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists new")
		ok, err = s.CreatePropertyIfNotExists(ctx, id, "once", "v2")
		mustBool(t, ok, err, false, "CreatePropertyIfNotExists existing")
		v, err := s.GetProperty(ctx, id, "once")
		must(t, err, "GetProperty")
		eq(t, v, "v1", "value kept after refused create")
		ok, err = s.CreatePropertyIfNotExists(ctx, id, "emptyval", "")
		mustBool(t, ok, err, false, "CreatePropertyIfNotExists empty value")
		_, err = s.GetProperty(ctx, id, "emptyval")
		wantErr(t, err, actingweb.ErrNotFound, "row after CreatePropertyIfNotExists with empty value")
		// No lookup maintenance, even for an indexed name (§6.3).
		email := "cine." + id + "@example.com"
		ok, err = s.CreatePropertyIfNotExists(ctx, id, "email", email)
		mustBool(t, ok, err, true, "CreatePropertyIfNotExists indexed name")
		_, err = s.GetPropertyLookup(ctx, "email", email)
		wantErr(t, err, actingweb.ErrNotFound, "lookup row after CreatePropertyIfNotExists (none expected)")
	})

	t.Run("DeletePropertyIfValueEquals", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		must(t, s.SetProperty(ctx, id, "tok", "abc"), "SetProperty")
		ok, err := s.DeletePropertyIfValueEquals(ctx, id, "tok", "ABC")
		mustBool(t, ok, err, false, "DeletePropertyIfValueEquals differing (case)")
		ok, err = s.DeletePropertyIfValueEquals(ctx, id, "tok", "abc ")
		mustBool(t, ok, err, false, "DeletePropertyIfValueEquals differing (space)")
		v, err := s.GetProperty(ctx, id, "tok")
		must(t, err, "GetProperty after refused delete")
		eq(t, v, "abc", "value after refused delete")
		ok, err = s.DeletePropertyIfValueEquals(ctx, id, "tok", "abc")
		mustBool(t, ok, err, true, "DeletePropertyIfValueEquals equal")
		_, err = s.GetProperty(ctx, id, "tok")
		wantErr(t, err, actingweb.ErrNotFound, "GetProperty after conditional delete")
		ok, err = s.DeletePropertyIfValueEquals(ctx, id, "tok", "abc")
		mustBool(t, ok, err, false, "DeletePropertyIfValueEquals on a missing row")
	})

	t.Run("SetPropertyIfValueEquals", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		must(t, s.SetProperty(ctx, id, "cas", "v1"), "SetProperty")
		ok, err := s.SetPropertyIfValueEquals(ctx, id, "cas", "wrong", "v2")
		mustBool(t, ok, err, false, "SetPropertyIfValueEquals with a wrong expectation")
		v, err := s.GetProperty(ctx, id, "cas")
		must(t, err, "GetProperty")
		eq(t, v, "v1", "value after refused CAS")
		ok, err = s.SetPropertyIfValueEquals(ctx, id, "cas", "v1", "v2 "+uniEmoji)
		mustBool(t, ok, err, true, "SetPropertyIfValueEquals matching")
		v, err = s.GetProperty(ctx, id, "cas")
		must(t, err, "GetProperty")
		eq(t, v, "v2 "+uniEmoji, "value after CAS")
		ok, err = s.SetPropertyIfValueEquals(ctx, id, "absent", "", "v")
		mustBool(t, ok, err, false, "SetPropertyIfValueEquals on a missing row (expected \"\")")
		ok, err = s.SetPropertyIfValueEquals(ctx, id, "absent", "x", "v")
		mustBool(t, ok, err, false, "SetPropertyIfValueEquals on a missing row")
		_, err = s.GetProperty(ctx, id, "absent")
		wantErr(t, err, actingweb.ErrNotFound, "SetPropertyIfValueEquals must never create a row")
	})

	t.Run("BatchDeleteProperties", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		keep := map[string]string{"keep": "k", "list:l-meta": "m"}
		for _, n := range []string{"list:l-0", "list:l-1", "list:l-2", "plain"} {
			must(t, s.SetProperty(ctx, id, n, "x"), "SetProperty "+n)
		}
		for n, v := range keep {
			must(t, s.SetProperty(ctx, id, n, v), "SetProperty "+n)
		}
		// 30 names (more than one DynamoDB batch of 25), most of them unknown.
		names := []string{"list:l-0", "list:l-1", "list:l-2", "plain"}
		for i := 0; i < 26; i++ {
			names = append(names, "unknown-"+string(rune('a'+i)))
		}
		must(t, s.BatchDeleteProperties(ctx, id, names), "BatchDeleteProperties")
		all, err := s.ListAllProperties(ctx, id)
		must(t, err, "ListAllProperties")
		deepEq(t, all, keep, "rows left after BatchDeleteProperties")
		must(t, s.BatchDeleteProperties(ctx, id, nil), "BatchDeleteProperties with no names")
		must(t, s.BatchDeleteProperties(ctx, id, []string{"unknown"}), "BatchDeleteProperties of unknown names")
	})

	t.Run("ListPropertiesVsAll", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		empty, err := s.ListProperties(ctx, id)
		wantEmptyMap(t, empty, err, "ListProperties of an actor without properties", "ListProperties(empty)")
		emptyAll, err := s.ListAllProperties(ctx, id)
		wantEmptyMap(t, emptyAll, err, "ListAllProperties of an actor without properties", "ListAllProperties(empty)")
		plain := map[string]string{
			"list": "no colon", "lis": "prefix", "list;x": "semicolon", "listx": "x", "List:Upper": "case",
			"a": "1", "zz": "2", "\u00fcber": "3",
		}
		lists := map[string]string{"list:": "bare", "list:a-meta": "m", "list:a-0": "0", "list:a-#V": "v2"}
		all := map[string]string{}
		for n, v := range plain {
			must(t, s.SetProperty(ctx, id, n, v), "SetProperty "+n)
			all[n] = v
		}
		for n, v := range lists {
			must(t, s.SetProperty(ctx, id, n, v), "SetProperty "+n)
			all[n] = v
		}
		got, err := s.ListProperties(ctx, id)
		must(t, err, "ListProperties")
		deepEq(t, got, plain, "ListProperties (list: rows excluded)")
		gotAll, err := s.ListAllProperties(ctx, id)
		must(t, err, "ListAllProperties")
		deepEq(t, gotAll, all, "ListAllProperties (list: rows included)")
	})

	t.Run("DeleteProperty", func(t *testing.T) {
		ctx := ctxOf(t)
		id := newID(t)
		createActor(t, s, id, "props@example.com")
		must(t, s.SetProperty(ctx, id, "x", "1"), "SetProperty")
		must(t, s.SetProperty(ctx, id, "y", "2"), "SetProperty")
		must(t, s.DeleteProperty(ctx, id, "x"), "DeleteProperty")
		_, err := s.GetProperty(ctx, id, "x")
		wantErr(t, err, actingweb.ErrNotFound, "GetProperty after DeleteProperty")
		v, err := s.GetProperty(ctx, id, "y")
		must(t, err, "GetProperty of the other row")
		eq(t, v, "2", "other row")
		must(t, s.DeleteProperty(ctx, id, "x"), "DeleteProperty again (idempotent)")
	})

	t.Run("DeleteAllProperties", func(t *testing.T) {
		ctx := ctxOf(t)
		id, other := newID(t), newID(t)
		createActor(t, s, id, "props@example.com")
		createActor(t, s, other, "other@example.com")
		mine, theirs := "mine."+id+"@example.com", "theirs."+other+"@example.com"
		must(t, s.SetProperty(ctx, id, "email", mine), "SetProperty email")
		must(t, s.SetProperty(ctx, id, "oauthId", "oauth-"+id), "SetProperty oauthId")
		must(t, s.SetProperty(ctx, id, "plain", "p"), "SetProperty plain")
		must(t, s.SetProperty(ctx, id, "list:l-0", "item"), "SetProperty list row")
		must(t, s.SetProperty(ctx, other, "email", theirs), "SetProperty other email")
		must(t, s.SetProperty(ctx, other, "plain", "q"), "SetProperty other plain")
		// A lookup row of another actor that happens to carry a value of ours must survive.
		must(t, s.SetProperty(ctx, other, "externalUserId", "shared-"+id), "SetProperty other externalUserId")
		must(t, s.SetProperty(ctx, id, "externalUserId", "shared-"+id), "SetProperty externalUserId (collision)")

		must(t, s.DeleteAllProperties(ctx, id), "DeleteAllProperties")
		all, err := s.ListAllProperties(ctx, id)
		must(t, err, "ListAllProperties after DeleteAllProperties")
		if len(all) != 0 {
			t.Fatalf("rows left after DeleteAllProperties: %v", all)
		}
		for name, value := range map[string]string{"email": mine, "oauthId": "oauth-" + id} {
			_, err = s.GetPropertyLookup(ctx, name, value)
			wantErr(t, err, actingweb.ErrNotFound, "own lookup row "+name+" after DeleteAllProperties")
		}
		owner, err := s.GetPropertyLookup(ctx, "externalUserId", "shared-"+id)
		must(t, err, "other actor's lookup row after DeleteAllProperties")
		eq(t, owner, other, "owner of the other actor's lookup row")
		owner, err = s.GetPropertyLookup(ctx, "email", theirs)
		must(t, err, "other actor's email lookup row")
		eq(t, owner, other, "owner of other actor's email lookup row")
		otherAll, err := s.ListAllProperties(ctx, other)
		must(t, err, "ListAllProperties other")
		deepEq(t, otherAll, map[string]string{"email": theirs, "plain": "q", "externalUserId": "shared-" + id}, "other actor's rows")
		must(t, s.DeleteAllProperties(ctx, id), "DeleteAllProperties again (idempotent)")
	})
}
