package protocol

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/chorus-im/chorus/transport"
)

// Store sync points (spec "Resume points per store"): between Syncs, each topic keeps,
// beside its last sync (the earliest point of a store still cut short, which every store
// without a point of its own is asked from), the points of the stores a Sync cut short
// left further on — one that answered in full at the Sync's start, one cut short at its
// own cut — by the name the transport gives the store (transport.SourcePoint). The next
// Sync hands them to the transport (transport.WithSourcePoints), so one store cutting
// its answers just past the query's start no longer makes every Sync fetch the other
// stores' window again from its cut. A point is an optimisation only: it is written
// after what the answers brought was stored, with the last sync, and counts only while
// it is later than the last sync.
const (
	// maxSyncPoints bounds the stores whose point a topic keeps (the latest points).
	maxSyncPoints = 16
	// maxStoreName bounds the length of a store name kept (longer: no point).
	maxStoreName = 256
)

// storePoints returns the points of the stores kept for topicList (since: each topic's
// query start, its last sync minus syncMargin) to hand the Sync's History calls: for
// each store, the earliest over the topics of its own point (a topic without one: the
// topic's since) minus syncMargin, if later than from (the query's start). A mark is
// never past the previous Sync's start plus syncMargin (syncPointsToKeep); one past now
// plus syncMargin (a clock set back) is ignored.
func (t *txn) storePoints(topicList []string, since map[string]time.Time, from, now time.Time) (map[string]time.Time, error) {
	kept := make(map[string]map[string]time.Time, len(topicList))
	for _, topic := range topicList {
		pts, err := t.SyncPoints(topic)
		if err != nil {
			return nil, err
		}
		kept[topic] = pts
	}
	return queryPoints(kept, topicList, since, from, now), nil
}

// queryPoints is storePoints over the marks kept (topic → store → mark).
func queryPoints(kept map[string]map[string]time.Time, topicList []string, since map[string]time.Time, from, now time.Time) map[string]time.Time {
	stores := map[string]bool{}
	for _, topic := range topicList {
		for s := range kept[topic] {
			stores[s] = true
		}
	}
	var out map[string]time.Time
	for s := range stores {
		var at time.Time
		for i, topic := range topicList {
			q := since[topic]
			// A point past now plus syncMargin was set by a clock that ran ahead and has
			// been set back: what the store got since then has earlier stamps than it, so
			// the point is ignored (the store asked from the topic's since), not moved to
			// now (review 15, TestReview15SyncPointClockSetBack: 3 of 9 never read).
			if p, ok := kept[topic][s]; ok && !p.After(now.Add(syncMargin)) {
				if p = p.Add(-syncMargin); p.After(q) {
					q = p
				}
			}
			if i == 0 || q.Before(at) {
				at = q
			}
		}
		if at.After(from) {
			if out == nil {
				out = map[string]time.Time{}
			}
			out[s] = at
		}
	}
	return out
}

// keepSyncProgress records that the history of topicList is fetched up to from (a later
// Sync resumes there, not at the start of a flood), and each store's point (sources, of
// the truncated answer that ended at from; the Sync started at now).
func (c *Client) keepSyncProgress(ctx context.Context, topicList []string, since map[string]time.Time, mark map[string]syncMark, from time.Time, sources []transport.SourcePoint, now time.Time) error {
	return c.tx(ctx, func(t *txn) error {
		for _, topic := range topicList {
			if back, err := t.movedBack(topic, mark[topic]); err != nil || back {
				if err != nil {
					return err
				}
				continue // a join's window, fetched by its own catch-up
			}
			last := since[topic].Add(syncMargin)
			if since[topic].Before(from) {
				last = from.Add(syncMargin)
				if err := t.SetLastSync(topic, last); err != nil {
					return err
				}
				t.onCommit(func() { m := mark[topic]; m.at = last; mark[topic] = m })
			}
			if err := t.SetSyncPoints(topic, syncPointsToKeep(sources, now, last, now.Add(-c.opt.historyWindow))); err != nil {
				return err
			}
		}
		return nil
	})
}

// syncMark is what a running Sync knows of a topic's last sync: its value as the Sync
// read or wrote it, and the number of joins of the topic (markJoinSync) then.
type syncMark struct {
	at    time.Time
	joins uint64
}

// movedBack reports whether a Welcome's join touched topic while the running Sync went
// on: its last sync is now before mark.at, what the Sync read or wrote (or set while it
// was zero; markJoinSync moves it back to the Welcome's time), or a join happened at all
// (mark.joins). The Sync then leaves the topic's last sync and points as they are, so
// that the join's catch-up fetches that window: written over with the Sync's own progress
// or start, the window was never fetched, and what the Sync had fetched of it before the
// join's keys arrived was junk by then (review 15, TestSyncKeepsJoinMoveBack) — also when
// the join's point is later than the last sync, which moves nothing (review 18,
// TestReview18JoinAfterLastSyncWindowLost: the Sync took the new group's first messages,
// on a topic we already read, before the Welcome that gave their keys).
func (t *txn) movedBack(topic string, mark syncMark) (bool, error) {
	if t.c.joins[topic] != mark.joins {
		return true, nil
	}
	cur, err := t.LastSync(topic)
	if err != nil {
		return false, err
	}
	return cur.Before(mark.at) || mark.at.IsZero() && !cur.IsZero(), nil
}

// syncPointsToKeep returns the sync marks to keep for sources (a truncated answer's
// store points) of a Sync that started at now, for a topic whose last sync is last: a
// store that answered in full at now (asked next from now minus syncMargin, as after a
// complete Sync), one cut short at its cut plus syncMargin (asked next from its cut) or
// at now if its cut is not before now (no point in the future). Only marks later than
// last (others say nothing the last sync does not) and not before oldest (the history
// window) are kept, at most maxSyncPoints, the latest; a store not in sources (no longer
// a store, or failing before it was cut) is forgotten.
func syncPointsToKeep(sources []transport.SourcePoint, now, last, oldest time.Time) map[string]time.Time {
	type point struct {
		store string
		mark  time.Time
	}
	var pts []point
	for _, sp := range sources {
		if sp.Source == "" || len(sp.Source) > maxStoreName {
			continue
		}
		mark := now
		if !sp.Done && sp.At.Before(now) {
			mark = sp.At.Add(syncMargin)
		}
		if !mark.After(last) || mark.Before(oldest) {
			continue
		}
		pts = append(pts, point{sp.Source, mark})
	}
	if len(pts) == 0 {
		return nil
	}
	slices.SortFunc(pts, func(a, b point) int {
		return cmp.Or(b.mark.Compare(a.mark), strings.Compare(a.store, b.store))
	})
	out := make(map[string]time.Time, min(len(pts), maxSyncPoints))
	for _, p := range pts {
		if len(out) == maxSyncPoints {
			break
		}
		if _, dup := out[p.store]; !dup {
			out[p.store] = p.mark
		}
	}
	return out
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
