// Key schedule v2, the heal check: the designated installation, whether a departed
// installation may still compute the current epoch, and the installations a frontier
// event's seed missed (coverage gaps).

package protocol

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// designated reports whether we are the designated installation of the membership: the
// bytewise smallest unrevoked installation id of its members (spec: "Rekeys"), leaving
// out except (those a member's frontier event's seed missed: they may not know it, and
// late joiners). A departed author's event never steers the choice: its coverage reaches
// no one but its author (coverage Departed), and its slot hints are not read for it — a
// departed author choosing whom to give slots would otherwise pick the healer (an
// installation away, or its accomplice) and have every other member stand aside (review
// 19, TestHealDepartedRevokedOnce). The soft standing that once read them (those
// only departed authors' events missed standing aside) could hold only for a departed
// author's own installation back as a member's, designated alone while the others stood
// aside for good; it is gone. Every member holding the same blocks decides the same way.
func (t *txn) designated(st *membership.State, except []*storage.InstallationRecord) (bool, error) {
	rank, err := t.designatedRank(st, except)
	return rank == 0, err
}

// designatedRank is designated's ranking: how many candidate installations come before
// ours (0: we are designated). The candidate of rank k heals once the designated
// installation's heal has not come for k × the heal grace (healDue): the designated one
// may be away, or never have seen what it would heal.
func (t *txn) designatedRank(st *membership.State, except []*storage.InstallationRecord) (int, error) {
	ins, err := t.installationsOf(st.Members)
	if err != nil {
		return -1, err
	}
	me := t.c.acct.inst
	rank := 0
	for _, x := range ins {
		if bytes.Compare(x.ID[:], me[:]) < 0 && !slices.ContainsFunc(except, func(e *storage.InstallationRecord) bool { return e.ID == x.ID }) {
			rank++
		}
	}
	return rank, nil
}

// revokerSiblings returns the unrevoked installations of the accounts whose revoked
// installations authored a frontier event of ours (coverage Departed): they stand aside
// as designated for it. The revoker is among them and refuses the revoked installation's
// blocks from the moment it revoked it, so unless it applied the block before (its
// revocation's own block then names it, and it leaves our frontier) it never finds
// anything to heal; its siblings learn the revocation from their own account's device
// list, as a rule before the block (review 19: TestReview19RevokedBlockNoEagerHeal waited
// one heal grace when the revoker had the smallest id). One of them that does find the
// epoch unhealed still heals at its own rank (designatedRank counts only the others). The
// thief gains nothing: the installations set aside are its victim's.
func (t *txn) revokerSiblings(s *epoch.Schedule, m *epochMeta) ([]*storage.InstallationRecord, error) {
	var out []*storage.InstallationRecord
	var seen []string
	for _, id := range s.Frontier() {
		cv := m.Covered[id.String()]
		if cv == nil || !cv.Departed {
			continue
		}
		in, err := t.Installation(cv.Author)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !in.Revoked || slices.Contains(seen, in.Account) {
			continue
		}
		seen = append(seen, in.Account)
		sib, err := t.InstallationsOf(in.Account)
		if err != nil {
			return nil, err
		}
		for i := range sib {
			if !sib[i].Revoked {
				out = append(out, &sib[i])
			}
		}
	}
	return out, nil
}

// unhealed reports whether the current epoch must be rekeyed before anything is sent
// under it: a departure no key event excluded, concurrent events one of which departs
// (spec: "Rekeys after a leave and after concurrent removals"), a frontier event whose
// seed misses an installation of the current membership (a newcomer added concurrently:
// the rekey, with a Welcome to it, stands in for forwarding), or seeds missing for the
// frontier, or a frontier apart from the members that applied a key event we refused
// (epochMeta.apart), or, on their side, past a key event we applied and the others refused
// (epochMeta.behind).
func (t *txn) unhealed(gc *groupCache, s *epoch.Schedule, m *epochMeta) (bool, error) {
	st := t.stateOf(gc)
	if departedMayCompute(s, m) || len(s.Missing()) > 0 || len(m.refused(s, st)) > 0 || len(m.apart(s)) > 0 ||
		len(m.behind(s, st)) > 0 {
		return true, nil
	}
	gaps, err := t.coverageGaps(gc, s, m)
	return len(gaps) > 0, err
}

// outranked reports whether an installation of the membership is designated before us
// whatever the heal check would find (spec: "Rekeys"): one whose id is smaller than ours
// and that no frontier event's seed missed (so it does not stand aside), with no late
// joiner to set aside and no seed missing (those checks need the whole state). Then a
// receive has no heal to make and skips the heal check: its finding would only be kept
// for our next send, which runs the check itself when nothing was kept (prepareV2). The
// check costs a slot hint per member installation (1000 AES blocks and lookups at 1000 ×
// 1, about a tenth of a key event's receive, issue 13); this costs one, seldom a few.
func (t *txn) outranked(gc *groupCache, s *epoch.Schedule, m *epochMeta) (bool, error) {
	if !mayBeOutranked(s, m, t.stateOf(gc)) {
		return false, nil
	}
	members, err := t.memberInstalls(gc, t.stateOf(gc).Members)
	if err != nil {
		return false, err
	}
	return outrankedBy(s, m, members, &t.c.acct.inst), nil
}

// mayBeOutranked is outranked's check of what needs the whole state: no departure to
// heal, no seed missing or refused, no frontier apart or behind (st: the group's
// membership state).
func mayBeOutranked(s *epoch.Schedule, m *epochMeta, st *membership.State) bool {
	return len(m.Uncovered) == 0 && len(s.Missing()) == 0 && !departedMayCompute(s, m) && len(m.refused(s, st)) == 0 &&
		len(m.apart(s)) == 0 && len(m.behind(s, st)) == 0
}

// outrankedBy is outranked past mayBeOutranked: whether an installation of members
// smaller than inst (ours) does not stand aside. It only reads its arguments.
func outrankedBy(s *epoch.Schedule, m *epochMeta, members *memberInstalls, inst *InstallationID) bool {
	me := instKey(inst)
	above := hintKey{} // candidates found standing aside are at or below it
	for try := range 4 {
		best, bk := -1, me
		for k := range members.ids {
			// Below us, above those standing aside, below the best so far.
			if x := instKey(&members.ids[k]); cmpKey(x, bk) < 0 && (try == 0 || cmpKey(x, above) > 0) {
				best, bk = k, x
			}
		}
		if best < 0 {
			return false // none below us: we may be designated
		}
		if !strongGap(s, m, members.ids[best], members.account(best)) {
			return true
		}
		above = bk
	}
	return false
}

// instKey is an installation id as two integers, ordered as its bytes.
func instKey(id *InstallationID) hintKey {
	return hintKey{binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])}
}

// strongGap reports whether a frontier event of a member (not of a departed author)
// missed installation id of account (coverageGapsSplit's second list).
func strongGap(s *epoch.Schedule, m *epochMeta, id InstallationID, account string) bool {
	for _, e := range s.Frontier() {
		if cv, ok := m.Covered[e.String()]; ok && !cv.Departed && !cv.coversID(e, id, account) {
			return true
		}
	}
	return false
}

// departedMayCompute reports whether a departed installation may compute the current
// epoch (epoch.Unhealed): a departure no key event excluded, concurrent events one of
// which departs (departed installations could pool their seeds), or a frontier event
// authored by a departed installation (it holds that seed, and may hold the rest: review
// 8, TestReview8LeaverTakesOverEpoch — a leaver's rekey naming the heal after its leave
// made the members' epoch its own, and an admin's add was sealed under it).
func departedMayCompute(s *epoch.Schedule, m *epochMeta) bool {
	f := s.Frontier()
	fe := make([]epoch.FrontierEvent, len(f))
	for i, id := range f {
		if cv := m.Covered[id.String()]; cv != nil && cv.Departed {
			return true // authored by a departed installation: it holds the seed
		}
		fe[i] = epoch.FrontierEvent{ID: id, Departs: slices.Contains(m.Departs, id.String())}
	}
	return epoch.Unhealed(fe, len(m.Uncovered) > 0)
}

// coverageGaps returns the installations of the current membership that some frontier
// event's seed did not reach (see epochMeta.Covered).
func (t *txn) coverageGaps(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*storage.InstallationRecord, error) {
	gaps, _, err := t.coverageGapsSplit(gc, s, m)
	return gaps, err
}

// coverageGapsSplit is coverageGaps that also returns the gaps left by events of
// members (not departed authors): those installations may lack events the others hold,
// so they stand aside when the designated installation is chosen.
func (t *txn) coverageGapsSplit(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*storage.InstallationRecord, []*storage.InstallationRecord, error) {
	return t.coverageGapsPast(gc, s, m, nil)
}

// coverageGapsPast is coverageGapsSplit leaving out the frontier events in past: events
// of departed authors that the epoch a rekey is sealed under is computed without
// (rekeyOuter), whose seed no installation needs to open it.
func (t *txn) coverageGapsPast(gc *groupCache, s *epoch.Schedule, m *epochMeta, past []epoch.ID) ([]*storage.InstallationRecord, []*storage.InstallationRecord, error) {
	var members *memberInstalls
	// The newcomers of a refused uncommitted add hold none of our frontier's seeds,
	// whatever the frontier's coverage says (refusedInstalls).
	_, out, err := t.refusedInstalls(gc, s, m)
	if err != nil {
		return nil, nil, err
	}
	strong := slices.Clone(out)
	for _, id := range s.Frontier() {
		cv, ok := m.Covered[id.String()]
		if !ok || slices.Contains(past, id) {
			continue
		}
		if members == nil {
			var err error
			if members, err = t.memberInstalls(gc, t.stateOf(gc).Members); err != nil {
				return nil, nil, err
			}
		}
		h, x := cv.hinter(id), cv.Hints.index()
		adds := make([]string, len(cv.Adds)) // as member keys: no member's id is rendered (issue 16)
		for i, a := range cv.Adds {
			adds[i] = membership.IDKey(a)
		}
		for k, iid := range members.ids {
			// coversWith without an account: cv's adds are checked by key.
			if iid == t.c.acct.inst || cv.coversWith(id, &h, &x, iid, "") ||
				!cv.Departed && slices.Contains(adds, members.accountKey(k)) {
				continue
			}
			var in *storage.InstallationRecord
			if i := slices.IndexFunc(out, func(x *storage.InstallationRecord) bool { return x.ID == iid }); i >= 0 {
				in = out[i]
			} else {
				rec, err := t.Installation(iid) // a gap's record (the list holds ids and accounts only)
				if err != nil {
					return nil, nil, err
				}
				in = rec
				out = append(out, in)
			}
			if !cv.Departed && !slices.ContainsFunc(strong, func(x *storage.InstallationRecord) bool { return x.ID == in.ID }) {
				strong = append(strong, in)
			}
		}
	}
	return out, strong, nil
}

// rekeyOuter returns the epoch a rekey's publish is sealed under and the frontier events
// of departed authors (coverage Departed) that epoch is computed without: those leave no
// coverage gap, since an installation that lacks their seed opens the publish all the
// same (spec "Authority"; review 8, TestReview8DepartedRekeyWelcomesAll: each member was
// sent a Welcome v2, event log and device lists, for one slotless block of a removed
// installation). The epoch is, in order: the epoch of our frontier without the departed
// authors' events, when it is live (ours before they arrived: an installation that held
// it opens the rekey whatever slots those authors gave, none or some, and their seeds are
// never needed); else our current epoch (the departed authors' events are in its
// frontier: everyone but their authors is a gap, as before); else, with seeds missing,
// our newest live epoch, computed before every event whose seed we lack (a departed
// author's among them is left out). With a rider (a message the caller sealed under our
// current or newest live epoch, prepareV2), the first choice is skipped: the frame is
// sealed where its message is.
func rekeyOuter(s *epoch.Schedule, m *epochMeta, rider bool) (epoch.Epoch, []epoch.ID, error) {
	cur, cerr := s.Current() // first: it makes the current epoch live
	live := s.Live()
	if len(live) == 0 {
		return epoch.Epoch{}, nil, fmt.Errorf("protocol: no epoch to rekey from: %w", epoch.ErrIncomplete)
	}
	if !rider {
		if e, departed, ok := epochBeforeDeparted(s, m, live); ok {
			return e, departed, nil
		}
	}
	if cerr == nil {
		return cur, nil, nil
	}
	var departed []epoch.ID // Missing is of frontier events
	for _, id := range s.Missing() {
		if cv := m.Covered[id.String()]; cv != nil && cv.Departed {
			departed = append(departed, id)
		}
	}
	return live[len(live)-1], departed, nil
}

// epochBeforeDeparted returns the epoch of our frontier without the events of departed
// authors (coverage Departed) and those events, when there are some, members' events
// remain, and that epoch is among live (rekeyOuter's first choice).
func epochBeforeDeparted(s *epoch.Schedule, m *epochMeta, live []epoch.Epoch) (epoch.Epoch, []epoch.ID, bool) {
	var rest epoch.Frontier
	var departed []epoch.ID
	for _, id := range s.Frontier() {
		if cv := m.Covered[id.String()]; cv != nil && cv.Departed {
			departed = append(departed, id)
		} else {
			rest = append(rest, id)
		}
	}
	if len(departed) == 0 || len(rest) == 0 {
		return epoch.Epoch{}, nil, false
	}
	eid, err := epoch.EpochID(s.Group(), rest)
	if err != nil {
		return epoch.Epoch{}, nil, false
	}
	for i := len(live) - 1; i >= 0; i-- {
		if live[i].ID == eid {
			return live[i], departed, true
		}
	}
	return epoch.Epoch{}, nil, false
}

// missingOnlyDeparted reports whether every seed we lack is of a departed author's
// frontier event and the epoch before those events is live for us: the designated
// installation's heal (sealed under that epoch, rekeyOuter) reaches us whatever seed the
// departed author gave us, so we wait for it, or heal as the designated installation,
// rather than rekey on our own (spec "A departed author's event and the heal's epoch").
func missingOnlyDeparted(s *epoch.Schedule, m *epochMeta) bool {
	if !missingAllDeparted(s, m) { // frontier events (Missing): each is then among epochBeforeDeparted's
		return false
	}
	_, _, ok := epochBeforeDeparted(s, m, s.Live())
	return ok
}

// missingAllDeparted reports whether we lack seeds and every one is of a departed
// author's frontier event (coverage Departed: a revoked installation's, or a rekey of an
// account no longer a member). No one repeats such a seed — its author's blocks are
// refused from now on, and no member forwards — so waiting for it heals nothing
// (healV2; review 19, TestReview19RevokedBlockNoEagerHeal).
func missingAllDeparted(s *epoch.Schedule, m *epochMeta) bool {
	missing := s.Missing()
	if len(missing) == 0 {
		return false
	}
	for _, id := range missing {
		if cv := m.Covered[id.String()]; cv == nil || !cv.Departed {
			return false
		}
	}
	return true
}

// healLater has the transaction check the group's epoch once all its changes are applied
// (a devices message riding with a rekey, a removal with its key block).
func (t *txn) healLater(id GroupID) {
	if !slices.Contains(t.heal, id) {
		t.heal = append(t.heal, id)
	}
}

// runHeals heals the groups healLater named (see healV2), in a heal's own transaction
// (t.healing: healAfter, healDue); any other transaction's heals run after it commits
// (healAfter).
func (t *txn) runHeals() error {
	for len(t.heal) > 0 {
		id := t.heal[0]
		t.heal = t.heal[1:]
		gc := t.c.groups[id]
		if gc == nil {
			continue
		}
		g, err := t.GroupState(id)
		if err != nil {
			return err
		}
		if err := t.healV2(g, gc, false); err != nil {
			return err
		}
	}
	return nil
}

// healDue heals, whoever is designated, the groups whose designated installation's heal
// has not come within our rank's grace (healV2 notes them): the designated installation
// may be away, or may never have seen what it would heal (an installation a departed
// member's block reached by its hints, sealed under an epoch it never held:
// TestReview14ConcurrentAddFillsRecords failed so 1 of 19 -race runs). Run's maintenance
// loop calls it; candidates heal one grace apart, so the first heal usually reaches the
// others before their turn. A note whose frontier has moved since is stale: the group is
// looked at again (healV2 notes it anew, from now, if it is still unhealed). The notes
// live in memory: after the caches were built (a start, a reload: healScan) every active
// group is looked at once, so a restart does not forget a heal we wait for (review 21,
// TestReview21OverdueHealForgotten), nor one a crash took between a receive's commit and
// its heal's (healAfter). With the heal grace off (negative) there are no overdue heals,
// but the scan and the retries of failed heals (healRetry) still run.
func (c *Client) healDue(ctx context.Context) {
	grace := c.opt.healGrace // <= 0: no overdue heals; the scan and failed heals' retries stay
	now := c.now()
	var due, scanned []GroupID // scanned: looked at by the scan (storedRefusals)
	scan := c.healScan.CompareAndSwap(true, false)
	c.mu.Lock()
	for id := range c.healRetry {
		if c.groups[id] == nil {
			delete(c.healRetry, id)
		}
	}
	for id, gc := range c.groups {
		if r, failed := c.healRetry[id]; failed {
			if !now.Before(r.next) {
				due = append(due, id) // tried again: looked at as a scan would
			}
			continue
		}
		if scan && gc.v2 && gc.status == GroupActive {
			due, scanned = append(due, id), append(scanned, id)
		} else if grace > 0 && !gc.overdue.IsZero() && now.Sub(gc.overdue) >= time.Duration(gc.overdueRank)*grace {
			due = append(due, id)
		}
	}
	c.mu.Unlock()
	for _, id := range due {
		var frontier [32]byte // the frontier of the state looked at (healRetry's)
		var refused []refusal // a failed heal's refused seeds (healFailed), tried again
		err := c.tx(ctx, func(t *txn) error {
			refused = t.c.healRetry[id].refused
			g, gc, err := t.healStart(id, &refused, slices.Contains(scanned, id), &frontier)
			if err != nil || gc == nil {
				return err
			}
			if grace <= 0 || gc.overdue.IsZero() || now.Sub(gc.overdue) < time.Duration(gc.overdueRank)*grace {
				return t.healV2(g, gc, false) // healScan: notes it if we wait for a heal
			}
			if frontier != gc.overdueFor {
				return t.healV2(g, gc, false) // stale: clears the note, or notes anew
			}
			t.onCommit(func() { gc.overdue = time.Time{} })
			t.c.log.Debug("heal overdue: the designated installation's heal has not come", "group", id.String()[:8], "rank", gc.overdueRank)
			return t.healV2(g, gc, true)
		})
		c.mu.Lock()
		if err != nil {
			c.healFailed(id, frontier, err, refused)
		} else {
			delete(c.healRetry, id)
		}
		c.mu.Unlock()
	}
}

// healBackoff is a group whose heal by healDue failed fails times in a row, tried again
// at next, for the state of frontier (frontierKey). Once the group's frontier moves (a
// heal came by another path: our send's rekey, another member's heal) or its state is
// found healed, healV2 drops it: a later departure waits its own rank's grace, not a
// backoff earned by a state that is gone (review 23,
// TestReview23HealRetryHoldsNextDeparture: 4.2 s instead of 0.3 s).
type healBackoff struct {
	fails    int
	next     time.Time
	frontier [32]byte
	refused  []refusal // the seeds refused the failed heal was for (healRefused)
}

// dropStaleRetry drops, once the transaction commits, group id's healRetry entry unless
// it is for the frontier key (c.mu held by the transaction).
func (t *txn) dropStaleRetry(id GroupID, key [32]byte) {
	if r, ok := t.c.healRetry[id]; !ok || r.frontier == key {
		return
	}
	c := t.c
	t.onCommit(func() {
		if r, ok := c.healRetry[id]; ok && r.frontier != key {
			delete(c.healRetry, id)
		}
	})
}

// maxHealRetryPause bounds the pause before a failed heal is tried again.
const maxHealRetryPause = time.Minute

// healRetryPause is the pause after the fails-th failed heal in a row: the heal grace,
// doubling, up to maxHealRetryPause. A heal that fails (a full disk, a member the block
// cannot be sealed to) is a whole rekey built and rolled back — about 60 ms of CPU at
// 1000 members — and was tried again on every pass of Run's loop
// (TestHealOverdueBacksOff: 102 attempts in 3 s at a 50 ms tick).
func healRetryPause(grace time.Duration, fails int) time.Duration {
	d := grace
	for i := 1; i < fails && d < maxHealRetryPause; i++ {
		d *= 2
	}
	return min(d, maxHealRetryPause)
}

// frontierKey identifies a schedule's frontier (the digest of its key event ids, a
// canonical frontier): what an overdue note waits to see healed.
func frontierKey(s *epoch.Schedule) [32]byte { return epoch.MemberPrevDigest(s.Frontier()) }
