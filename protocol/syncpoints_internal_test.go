package protocol

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/transport"
)

// TestSyncPointsToKeep: what a truncated answer's store points leave for the next Sync —
// a store done at the Sync's start, one cut short at its cut plus syncMargin, one cut at
// or past the Sync's start (a stamp from the future) at the Sync's start; nothing for a
// point not past the last sync, older than the history window, or a name empty or too
// long; the latest maxSyncPoints when more stores answer.
func TestSyncPointsToKeep(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	last := now.Add(-time.Hour)
	oldest := now.Add(-30 * 24 * time.Hour)
	got := syncPointsToKeep([]transport.SourcePoint{
		{Source: "done", Done: true},
		{Source: "cut", At: now.Add(-10 * time.Minute)},
		{Source: "future", At: now.Add(24 * time.Hour)},
		{Source: "behind", At: last.Add(-syncMargin)},             // mark = last: says nothing
		{Source: "", Done: true},                                  // no name
		{Source: strings.Repeat("x", maxStoreName+1), Done: true}, // name too long
	}, now, last, oldest)
	want := map[string]time.Time{"done": now, "cut": now.Add(-10 * time.Minute).Add(syncMargin), "future": now}
	if len(got) != len(want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	for s, at := range want {
		if !got[s].Equal(at) {
			t.Errorf("%s kept at %v, want %v", s, got[s], at)
		}
	}
	if got := syncPointsToKeep([]transport.SourcePoint{{Source: "old", At: oldest.Add(-time.Hour)}}, now, oldest.Add(-48*time.Hour), oldest); len(got) != 0 {
		t.Errorf("a point older than the history window kept: %v", got)
	}
	var many []transport.SourcePoint
	for i := range 3 * maxSyncPoints {
		many = append(many, transport.SourcePoint{Source: fmt.Sprintf("s%03d", i), At: last.Add(time.Duration(i+1) * time.Second)})
	}
	got = syncPointsToKeep(many, now, last, oldest)
	if len(got) != maxSyncPoints {
		t.Fatalf("%d stores kept of %d, want %d", len(got), len(many), maxSyncPoints)
	}
	for i := 2 * maxSyncPoints; i < 3*maxSyncPoints; i++ {
		if _, ok := got[fmt.Sprintf("s%03d", i)]; !ok {
			t.Errorf("store s%03d (among the latest points) not kept", i)
		}
	}
}

// TestQueryPoints: a store is asked from the earliest over the query's topics of its own
// point (a topic without one: the topic's since), minus syncMargin, and only if that is
// later than the query's start; never from after the Sync's start; a point past now plus
// syncMargin is ignored.
func TestQueryPoints(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	since := map[string]time.Time{"/a": now.Add(-time.Hour), "/b": now.Add(-30 * time.Minute)}
	from := since["/a"]
	kept := map[string]map[string]time.Time{
		"/a": {"both": now.Add(-5 * time.Minute), "onlyA": now.Add(-10 * time.Minute), "future": now.Add(time.Hour)},
		"/b": {"both": now.Add(-20 * time.Minute), "onlyB": now, "future": now.Add(time.Hour)},
	}
	got := queryPoints(kept, []string{"/a", "/b"}, since, from, now)
	want := map[string]time.Time{
		"both":  now.Add(-20*time.Minute - syncMargin),
		"onlyA": now.Add(-30 * time.Minute), // /b's since
	}
	// onlyB: /a's since (from): not later than the query's start, not handed. future: a
	// point past now + syncMargin (a clock set back since) is ignored, so the store is
	// asked from the topics' since, from: not handed either (review 15).
	if len(got) != len(want) {
		t.Errorf("points %v, want %v", got, want)
	}
	for s, at := range want {
		if !got[s].Equal(at) {
			t.Errorf("%s asked from now %v, want now %v", s, got[s].Sub(now), at.Sub(now))
		}
	}
}

// FuzzSyncPoints: whatever a transport reports (any names, points, done flags) and
// whatever the store holds (a tampered file), the points kept are at most maxSyncPoints
// a topic, each past the last sync, not older than the history window, not past the
// Sync's start plus syncMargin, with a name of at most maxStoreName bytes; and a store is
// never asked from before the query's start nor after the Sync's start.
func FuzzSyncPoints(f *testing.F) {
	f.Add([]byte("\x01done\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03cut\x01\x00\x00\x00\x00\x00\x00\x10"), int64(3600), int64(7200))
	f.Fuzz(func(t *testing.T, b []byte, lastAgo, fromAgo int64) {
		now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
		last := now.Add(-time.Duration(lastAgo))
		oldest := now.Add(-30 * 24 * time.Hour)
		var sources []transport.SourcePoint
		for len(b) >= 10 {
			n := min(int(b[0]), len(b)-10)
			name := string(b[1 : 1+n])
			done := b[1+n]&1 == 1
			at := now.Add(time.Duration(int64(binary.BigEndian.Uint64(b[2+n:10+n])) >> (b[1+n] >> 1 & 63)))
			sources = append(sources, transport.SourcePoint{Source: name, Done: done, At: at})
			b = b[10+n:]
		}
		kept := syncPointsToKeep(sources, now, last, oldest)
		if len(kept) > maxSyncPoints {
			t.Fatalf("%d points kept", len(kept))
		}
		for s, m := range kept {
			if s == "" || len(s) > maxStoreName || !m.After(last) || m.Before(oldest) || m.After(now.Add(syncMargin)) {
				t.Fatalf("kept %q at now %v (last now %v)", s, m.Sub(now), last.Sub(now))
			}
		}
		since := map[string]time.Time{"/a": now.Add(-time.Duration(fromAgo)), "/b": last.Add(-syncMargin)}
		from := minTime(since["/a"], since["/b"])
		// The marks as stored, and any the file may hold (sources' points as marks).
		raw := map[string]time.Time{}
		for _, sp := range sources {
			raw[sp.Source] = sp.At
		}
		for s, at := range queryPoints(map[string]map[string]time.Time{"/a": raw, "/b": kept}, []string{"/a", "/b"}, since, from, now) {
			if !at.After(from) || at.After(now) {
				t.Fatalf("%q asked from now %v (query from now %v)", s, at.Sub(now), from.Sub(now))
			}
		}
	})
}

// TestMarkJoinSyncDropsPoints: a join that moves a topic's last sync back (the catch-up
// from a Welcome's time) deletes the topic's store points — with them, a store would be
// asked from its point, past what the catch-up is for; one that leaves the mark as it is
// keeps them.
func TestMarkJoinSyncDropsPoints(t *testing.T) {
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := &Client{}
	run := func(fn func(tx *txn) error) {
		t.Helper()
		if err := st.WithTx(context.Background(), func(s storage.StoreTx) error { return fn(&txn{StoreTx: s, c: c}) }); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	points := func() map[string]time.Time {
		var pts map[string]time.Time
		run(func(tx *txn) (err error) { pts, err = tx.SyncPoints("/g"); return err })
		return pts
	}
	run(func(tx *txn) error {
		if err := tx.SetLastSync("/g", t0); err != nil {
			return err
		}
		return tx.SetSyncPoints("/g", map[string]time.Time{"s": t0.Add(time.Hour)})
	})
	run(func(tx *txn) error { return tx.markJoinSync("/g", t0.Add(time.Minute)) })
	if len(points()) != 1 {
		t.Errorf("a join leaving the last sync as it is dropped the store points: %v", points())
	}
	run(func(tx *txn) error { return tx.markJoinSync("/g", t0.Add(-time.Hour)) })
	if pts := points(); len(pts) != 0 {
		t.Errorf("a join moving the last sync back kept the store points %v", pts)
	}
	var last time.Time
	run(func(tx *txn) (err error) { last, err = tx.LastSync("/g"); return err })
	if !last.Equal(t0.Add(-time.Hour)) {
		t.Errorf("last sync %v, want %v", last, t0.Add(-time.Hour))
	}
}
