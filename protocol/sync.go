package protocol

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/transport"
)

// syncMargin is subtracted from the last sync time of a topic to tolerate clock skew
// between publishers and us.
const syncMargin = 2 * time.Minute

// SyncTimeout bounds each Sync (and catch-up of new topics) that Run makes, so a store
// that keeps answering cannot hold Run's maintenance (publish retries, prekey upkeep)
// for good; the progress of a Sync cut off is kept, and the next one resumes there.
const SyncTimeout = 10 * time.Minute

// syncFruitlessCalls and syncFruitlessEnvelopes bound what a Sync spends on truncated
// answers from which nothing was taken (see syncTopics): a backlog of envelopes we
// already hold, a flood of junk, or a lying store's made-up messages. The budget is the
// whole Sync's, not renewed by an answer something was taken from: each such answer only
// adds one answer and syncFruitlessEnvelopes/syncFruitlessCalls envelopes to it. Past
// either, the Sync ends with its progress kept (ErrHistoryTruncated; Run starts the next
// one soon, syncs).
const (
	syncFruitlessCalls     = 64
	syncFruitlessEnvelopes = 16384
)

// Sync catches up: it fetches history for our inbox and every active group topic since
// the last sync (the first time: the history window), processes what it finds, retries
// envelopes waiting for keys, and reports messages still missing (R1) as
// *MessageMissing events. Run calls it on start and periodically; apps may call it too
// (e.g. after the network came back).
func (c *Client) Sync(ctx context.Context) error {
	c.mu.Lock()
	if c.acct == nil && c.link == nil {
		c.mu.Unlock()
		return ErrNoAccount
	}
	topicList := c.wantedTopicsLocked()
	c.mu.Unlock()
	// Pending membership events waiting for a parent we never got: fetch the window for
	// it (missing_parents.go) — before the Sync, and again after it if what it brought
	// has such events.
	if _, err := c.askMissingParents(ctx); err != nil {
		return err
	}
	firstErr := c.syncTopics(ctx, topicList)
	if firstErr == nil && ctx.Err() == nil {
		if moved, err := c.askMissingParents(ctx); err != nil {
			return err
		} else if moved {
			firstErr = c.syncTopics(ctx, topicList)
		}
	}
	// Groups joined during this sync: their topics were not in the list yet.
	c.mu.Lock()
	more := c.wantedTopicsLocked()
	c.mu.Unlock()
	if len(more) > len(topicList) && ctx.Err() == nil {
		return c.Sync(ctx)
	}
	c.retryPending(ctx)
	if err := c.checkMissing(ctx); err != nil {
		return err
	}
	return firstErr
}

// syncTopics fetches and processes the history of topics since their last sync, in
// one History query over the query set (the topics and their decoys, queryset.go), from
// the earliest of their last syncs: an observer of the query sees the same set every
// time, never a topic on its own. Envelopes on decoy topics, and those of a topic older
// than its own last sync, are dropped unprocessed. A History answer cut short
// (transport.ErrHistoryTruncated) is processed and the query continues from
// transport.ResumeAt (the point up to which the answer is complete; it may hold later
// envelopes, which the replay markers drop when they come again), handing the answer's
// per-store resume state back (transport.WithResume: each store asked from its own cut,
// one that answered in full not again), so a flood on a topic delays catch-up but never
// stops it, and a store cut just past since no longer holds the others back. A truncated
// answer that brings nothing the previous one did not, or that brings nothing taken and
// repeats at least half of the previous one, is the second tiny one in a row once some
// sources finished, or is past the fruitless budget, ends the Sync with an error
// once its progress is kept (the caller tries again later from there); a resume point at
// or past the Sync's start ends it as complete. The first call clears any resume state
// ctx carries.
func (c *Client) syncTopics(ctx context.Context, topicList []string) error {
	if len(topicList) == 0 {
		return nil
	}
	now := c.now()
	since := make(map[string]time.Time, len(topicList))
	// mark: each topic's last sync as this Sync read or wrote it, and its joins (movedBack).
	mark := make(map[string]syncMark, len(topicList))
	var from time.Time
	var points map[string]time.Time // stores' own points (syncpoints.go)
	if err := c.tx(ctx, func(t *txn) error {
		if err := t.learnEmpty(topicList); err != nil {
			return err
		}
		for _, topic := range topicList {
			s, err := t.LastSync(topic)
			if err != nil {
				return err
			}
			mark[topic] = syncMark{at: s, joins: t.c.joins[topic]}
			if s.IsZero() {
				s = now.Add(-c.opt.historyWindow)
			}
			since[topic] = s.Add(-syncMargin)
			if from.IsZero() || since[topic].Before(from) {
				from = since[topic]
			}
		}
		var err error
		points, err = t.storePoints(topicList, since, from, now)
		return err
	}); err != nil {
		return err
	}
	query := c.querySet(topicList)
	// Outer layers are opened and signatures checked ahead (ahead.go): those of the next
	// batch on the other cores while a batch is processed, then by every core.
	check := c.beginVerify()
	if check {
		defer c.endVerify()
	}
	procs := runtime.GOMAXPROCS(0)
	var last map[[32]byte]struct{}   // the previous truncated answer's envelopes
	repeated := 0                    // envelopes of the current answer that were in last
	var resume []byte                // the transport's per-store resume state (TruncatedError.Resume)
	mostAsked := 0                   // the most sources a call of this Sync asked (0: not said)
	idle := 0                        // consecutive answers from fewer sources that brought nothing taken
	fruitless, fruitlessEnvs := 0, 0 // this Sync's truncated answers that brought nothing taken, their envelopes
	fruitful := 0                    // this Sync's truncated answers that brought something taken
	for {
		lastLen, fewer := len(last), false
		envs, err := c.tr.History(transport.WithSourcePoints(transport.WithResume(ctx, resume), points), query, from, time.Time{})
		truncated := errors.Is(err, transport.ErrHistoryTruncated)
		if err != nil && !truncated {
			return fmt.Errorf("protocol: history: %w", err)
		}
		if truncated {
			// A truncated answer holding nothing the previous one did not (a store that
			// keeps cutting its answer just past since, or a flood at one timestamp
			// answered the same again) ends this Sync after its progress is kept: looping
			// on it would fetch the other stores' whole window again each round until
			// SyncTimeout (review 9, TestReview9SyncHoldsMaintenance). The caller (Run's
			// retry or next periodic Sync) continues from the saved point.
			fresh := make(map[[32]byte]struct{}, len(envs))
			repeated = 0
			for _, e := range envs {
				if _, ok := last[e.Hash]; ok {
					repeated++
				}
				fresh[e.Hash] = struct{}{}
			}
			grew := repeated < len(envs)
			// (A resume point at or past now instead ends it as complete, below.)
			if next := transport.ResumeAt(err, from, envs); !grew && next.Before(now) {
				if err := c.keepSyncProgress(ctx, topicList, since, mark, next, transport.SourcesOf(err), now); err != nil {
					return err
				}
				return fmt.Errorf("protocol: history: no new message in a truncated answer, complete up to %s: %w",
					next.UTC().Format(time.RFC3339Nano), err)
			}
			// Sources finished earlier in this Sync (below).
			asked := transport.AskedOf(err)
			fewer = 0 < asked && asked < mostAsked
			mostAsked = max(mostAsked, asked)
			last = fresh
		}
		// Processed SyncBatch envelopes per store transaction (batch.go).
		taken := c.taken.Load()
		newKeys := false
		chunkAt := func(start int) []transport.Envelope { return envs[start:min(start+SyncBatch, len(envs))] }
		var pre *ahead
		if check && len(envs) > 0 {
			pre = c.checkAhead(chunkAt(0), procs-1)
		}
		for start := 0; start < len(envs); start += SyncBatch {
			chunk := chunkAt(start)
			if pre != nil {
				c.settleAhead(ctx, pre, procs-1)
				pre = nil
			}
			if check && start+SyncBatch < len(envs) {
				pre = c.checkAhead(chunkAt(start+SyncBatch), procs-1)
			}
			if err := c.batch(ctx, func(ctx context.Context) {
				for _, e := range chunk {
					s, own := since[e.Topic]
					if !own || e.Timestamp.Before(s) {
						continue // a decoy, or synced before
					}
					if c.process(ctx, e.Topic, e.Payload) {
						newKeys = true
					}
				}
			}); err != nil {
				if pre != nil {
					pre.abandon()
				}
				return err // nothing of the chunk is stored: the next Sync fetches it again
			}
		}
		if newKeys {
			c.retryPending(ctx)
		}
		if !truncated {
			break
		}
		from, resume = transport.ResumeAt(err, from, envs), transport.ResumeOf(err)
		if !from.Before(now) {
			// Complete up to this Sync's start or past it (a store's stamps are anyone's
			// word): what is later is the next Sync's, from now on — never a stored resume
			// point in the future, which would skip what is published until then (review
			// 9, TestReview9FutureResumePoint).
			break
		}
		// Keep the progress: a later Sync resumes here, not at the start of the flood.
		if err := c.keepSyncProgress(ctx, topicList, since, mark, from, transport.SourcesOf(err), now); err != nil {
			return err
		}
		// A truncated answer that is mostly the previous one again and from which
		// nothing was taken (every envelope seen before, undecryptable or pending) ends
		// the Sync, its progress kept: a store can get each answer past since with one
		// made-up message, a new hash each time, so that "nothing new" by hash never
		// fires, and keep the Sync fetching the other stores' whole window again for a
		// millisecond of progress a round until SyncTimeout (review 13,
		// TestReview13SyncCrawlFreshForgery). To keep it going, a store must now send
		// as many new envelopes as the answer repeats: we never fetch more than twice
		// what is new. A flood (junk in front of what we need, TestSyncPastFlood) is
		// new each round, so it is crossed in one Sync.
		//
		// With resume points per store (the transport's Resume state), a store that
		// answered in full is not asked again and one cut short is asked from its own cut,
		// so nothing repeats: once the honest stores are through, a store cutting each
		// answer just past its since with made-up messages is asked alone, round after
		// round, and its answers look like an honest store's paging through a flood of junk
		// or a backlog we took live — the same calls, the same sizes, nothing taken (review
		// 18: a rule telling them apart by size or by sources finishing was defeated each
		// time, a liar sending 3 messages a call held a quiet Sync for its whole deadline,
		// 110,604 calls, and one finishing in full with 100 made-up messages cut an honest
		// store's backlog short). So the Sync spends a budget instead: at most
		// syncFruitlessCalls answers, and syncFruitlessEnvelopes envelopes, that brought
		// nothing taken, over the whole Sync — each answer that brought something adds one
		// answer and its share of envelopes, no more: restarted at each such answer, a store
		// handing out one message of our own backlog (which any store holds) every 60th
		// answer held a Sync 62 answers per message (review 19,
		// TestReview19BacklogSpacedHoldsSync: 1,265 calls for 20 messages). Then the Sync
		// ends with its progress kept, and Run's next Sync, started soon (syncs), goes on
		// from there. A backlog or flood within the budget is crossed in one Sync, a longer
		// one in several (delayed, never skipped); a lying store costs each Sync that budget
		// plus one answer per message of ours it hands out.
		// Two tiny answers in a row (at most 2 envelopes per store asked) from calls that
		// asked fewer sources than an earlier call end it at once: a quiet Sync's honest
		// stores are done at their first call, and a liar answering one made-up message a
		// call (review 15, TestReview15LiarHoldsQuietSync: 47,275 History calls in 3 s)
		// is not worth the budget; an honest store still cut short sends full pages.
		if fewer && len(envs) <= 2*transport.AskedOf(err) && c.taken.Load() == taken {
			idle++
		} else {
			idle = 0
		}
		if c.taken.Load() == taken {
			fruitless, fruitlessEnvs = fruitless+1, fruitlessEnvs+len(envs)
		} else {
			fruitful++
		}
		overBudget := fruitless > syncFruitlessCalls+fruitful ||
			fruitlessEnvs > syncFruitlessEnvelopes+fruitful*(syncFruitlessEnvelopes/syncFruitlessCalls)
		if c.taken.Load() == taken && (2*repeated >= len(envs) || idle >= 2 || overBudget) {
			return fmt.Errorf("protocol: history: a truncated answer of %d envelopes (%d of them in the previous one of %d; %d answers of this Sync brought no message, %d did) brought no message, complete up to %s: %w",
				len(envs), repeated, lastLen, fruitless, fruitful, from.UTC().Format(time.RFC3339Nano), err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return c.tx(ctx, func(t *txn) error {
		for _, topic := range topicList {
			if back, err := t.movedBack(topic, mark[topic]); err != nil || back {
				if err != nil {
					return err
				}
				continue // a join's window, fetched by its own catch-up
			}
			// Complete: every store is asked from here next, its own point says no more.
			if err := t.SetLastSync(topic, now); err != nil {
				return err
			}
			if err := t.SetSyncPoints(topic, nil); err != nil {
				return err
			}
		}
		// Points of topics no longer synced (left groups): gone with the history window.
		return t.PruneSyncPoints(now.Add(-c.opt.historyWindow))
	})
}

// wantedTopicsLocked lists the topics we listen on: our inbox and active group topics.
func (c *Client) wantedTopicsLocked() []string {
	if c.acct == nil {
		if c.link != nil {
			return []string{c.link.topic} // waiting to be linked
		}
		return nil
	}
	out := []string{c.acct.inboxTopic()}
	if c.linkTopic != "" && c.now().Before(c.linkUntil) {
		out = append(out, c.linkTopic)
	}
	for topic, gids := range c.topics {
		for _, id := range gids {
			if gc := c.groups[id]; gc != nil && gc.status == GroupActive {
				out = append(out, topic)
				break
			}
		}
	}
	return out
}

// checkMissing reports iteration gaps of every sender and causal-history entries never
// seen, once each.
func (c *Client) checkMissing(ctx context.Context) error {
	now := c.now()
	return c.tx(ctx, func(t *txn) error {
		gs, err := t.Groups()
		if err != nil {
			return err
		}
		for _, g := range gs {
			if g.Status != GroupActive {
				continue
			}
			recs, err := t.Receivers(g.ID)
			if err != nil {
				return err
			}
			for _, r := range recs {
				rcv := new(senderkeys.Receiver)
				if err := rcv.UnmarshalBinary(r.State); err != nil {
					return err
				}
				for _, gap := range rcv.Gaps() {
					key := fmt.Sprintf("gap/%s/%s/%s/%d/%d", g.ID, r.Installation, hex.EncodeToString(gap.KeyID[:]), gap.From, gap.To)
					done, err := t.Reported(key)
					if err != nil {
						return err
					}
					if done {
						continue
					}
					if err := t.MarkReported(key, now); err != nil {
						return err
					}
					t.emit(&MessageMissing{Group: g.ID, SenderAccount: r.Account, SenderInstallation: r.Installation,
						KeyID: gap.KeyID, From: gap.From, To: gap.To})
				}
			}
			if err := t.reportGapsV2(&g, now); err != nil {
				return err
			}
			exp, err := t.Expected(g.ID)
			if err != nil {
				return err
			}
			var unreadable func([32]byte) bool
			for _, e := range exp {
				if e.Report || now.Sub(e.Since) < c.opt.missingGrace {
					continue
				}
				e.Report = true
				if err := t.PutExpected(&e); err != nil {
					return err
				}
				if unreadable == nil {
					unreadable = unreadableEntries(g.ID, recs)
				}
				if unreadable(e.Entry) {
					continue // before the state we were given (pre-join): never meant for us
				}
				ev := &MessageMissing{Group: g.ID, SenderInstallation: InstallationID(e.Entry[:16]), ByHistory: true}
				copy(ev.MessageIDPrefix[:], e.Entry[16:])
				if in, err := t.Installation(ev.SenderInstallation); err == nil {
					ev.SenderAccount = in.Account
				}
				t.emit(ev)
			}
		}
		return nil
	})
}

// unreadableEntries returns a predicate telling whether a causal-history entry names a
// message we could never open: an iteration below the position of a sender key we hold
// that is not a skipped (still openable) iteration, or an iteration of the key it
// replaced when we never held that one. Such messages were sent before we got the key
// (before we joined, were linked, or were given the key), so R1 does not report them.
// Messages we did receive never reach the check (they are not expected).
func unreadableEntries(group GroupID, recs []storage.ReceiverRecord) func([32]byte) bool {
	type span struct {
		key      senderkeys.KeyID
		from, to uint32
	}
	spans := map[InstallationID][]span{}
	skipped := map[InstallationID][]senderkeys.Gap{}
	for _, r := range recs {
		rcv := new(senderkeys.Receiver)
		if rcv.UnmarshalBinary(r.State) != nil {
			continue
		}
		skipped[r.Installation] = rcv.Gaps()
		for _, d := range rcv.Forward() {
			spans[r.Installation] = append(spans[r.Installation], span{d.KeyID, d.Iteration - min(d.Iteration, PreJoinLookback), d.Iteration})
			if d.HasPrev && !rcv.Has(d.PrevKeyID) {
				spans[r.Installation] = append(spans[r.Installation],
					span{d.PrevKeyID, d.PrevLastIteration - min(d.PrevLastIteration, PreJoinLookback), d.PrevLastIteration})
			}
		}
	}
	return func(e [32]byte) bool {
		inst := InstallationID(e[:16])
		for _, sp := range spans[inst] {
			for i := sp.from; i < sp.to; i++ {
				id := messageID(group, inst, sp.key, i)
				if string(id[:16]) != string(e[16:]) {
					continue
				}
				for _, gap := range skipped[inst] {
					if gap.KeyID == sp.key && gap.From <= i && i < gap.To {
						return false // skipped: we can still open it, it is missing
					}
				}
				return true
			}
		}
		return false
	}
}

// dropReceivers deletes the sender keys of installations (a removed member's, a revoked
// device's) in group. Causal-history entries we still expect from them that name
// messages sent before we held their key (pre-join: never meant for us) are settled
// first, while the keys still tell which those are: without the keys, checkMissing could
// no longer tell them from messages sent while we were a member, and would report them
// missing (R1). Entries the keys do not settle stay expected and are reported.
func (t *txn) dropReceivers(group GroupID, insts []InstallationID) error {
	if len(insts) == 0 {
		return nil
	}
	exp, err := t.Expected(group)
	if err != nil {
		return err
	}
	var recs []storage.ReceiverRecord
	for _, in := range insts {
		r, err := t.Receiver(group, in)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		recs = append(recs, *r)
	}
	if len(recs) > 0 {
		var unreadable func([32]byte) bool
		for _, e := range exp {
			if e.Report || !slices.Contains(insts, InstallationID(e.Entry[:16])) {
				continue
			}
			if unreadable == nil {
				unreadable = unreadableEntries(group, recs)
			}
			if unreadable(e.Entry) {
				if err := t.DeleteExpected(group, e.Entry); err != nil {
					return err
				}
			}
		}
	}
	for _, in := range insts {
		if err := t.DeleteReceiver(group, in); err != nil {
			return err
		}
	}
	return nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// markJoinSync makes the next sync of a newly joined topic start at since (minus the
// clock-skew margin), so that messages sent between the welcome and our subscription are
// fetched.
func (t *txn) markJoinSync(topic string, since time.Time) error {
	// A Sync under way leaves the topic's last sync as it is (movedBack), whether or not
	// this moves it: it may have fetched the join's window before the join's keys. (Counted
	// before the transaction commits: a join rolled back only makes a Sync keep an earlier
	// last sync.)
	if t.c.joins == nil {
		t.c.joins = map[string]uint64{}
	}
	t.c.joins[topic]++
	last, err := t.LastSync(topic)
	if err != nil {
		return err
	}
	if last.IsZero() || since.Before(last) {
		// The stores' own points are later: from since on, every store is asked again.
		if err := t.SetSyncPoints(topic, nil); err != nil {
			return err
		}
		return t.SetLastSync(topic, since)
	}
	// The last sync is before the join's point, but a store's own point (kept by a Sync's
	// rounds, maybe of the Sync under way, before the Welcome came) may be past it: that
	// store already answered what it holds from the join on, taken with no key then. Such a
	// point moves back to the join's, so that the catch-up asks every store from there
	// (review 19, TestReview19JoinWindowSkippedByStorePoint); points before it stay.
	pts, err := t.SyncPoints(topic)
	if err != nil {
		return err
	}
	moved := false
	for s, p := range pts {
		if p.After(since) {
			pts[s], moved = since, true
			if !since.After(last) {
				delete(pts, s) // no later than the last sync: says nothing more
			}
		}
	}
	if !moved {
		return nil
	}
	return t.SetSyncPoints(topic, pts)
}

// catchUpFromWelcome makes the next sync of topic start at Welcome w's time (markJoinSync)
// and has the running client sync it at once, whether or not the topic is newly
// subscribed (spec "History catch-up"): the group's publishes of the epochs w gives us
// that reached us before w opened with no key of ours and were dropped (only the junk
// filter remembers them), among them key events (a removal of ours after the re-add w
// makes) that nothing else brings again. A topic already subscribed (another group on
// it, or a re-add before the subscriptions loop saw our removal) had no catch-up before
// (TestRejoinCatchesUpOnSubscribedTopic).
func (t *txn) catchUpFromWelcome(topic string, sentAt uint64) error {
	now := t.c.now()
	sent := now
	if ms := int64(sentAt); ms > 0 && ms < now.UnixMilli() {
		// No earlier than the history window a first sync fetches: a member's Welcome
		// claiming an old time costs us one fetch of that window, no more.
		sent = later(timeFromMillis(ms), now.Add(-t.c.opt.historyWindow))
	}
	if err := t.markJoinSync(topic, sent.Add(-syncMargin)); err != nil {
		return err
	}
	c := t.c
	t.onCommit(func() { // under c.mu
		// The junk filter may hold those publishes: they open now (a re-join keeps
		// the number of groups, which alone clears it, unchanged).
		c.junk.reset()
		c.askCatchUpLocked(topic)
	})
	t.topicsChanged, t.newKeys = true, true // wakes the subscriptions loop; pending retried
	return nil
}
