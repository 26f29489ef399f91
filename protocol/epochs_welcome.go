// Key schedule v2, Welcome: welcoming installations, splitting and handling Welcome v2, joins.

package protocol

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
)

// welcomeV2 sends a Welcome v2 with join to every installation of the accounts newcomers
// (ours excluded). added are the events of the change that added them (nil: a creation):
// the Welcome carries a snapshot with them instead of the log when that is smaller
// (welcomeMembership).
func (t *txn) welcomeV2(g *storage.GroupRecord, st *membership.State, newcomers []string, join epoch.Join, added []membership.Event) ([]*storage.OutboxRecord, error) {
	var ins []*storage.InstallationRecord
	for _, m := range newcomers {
		list, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for i := range list {
			ins = append(ins, &list[i])
		}
	}
	return t.welcomeV2With(g, st, ins, join, "", added)
}

// welcomeV2To sends a Welcome v2 with join to each unrevoked installation of ins other
// than ours, on topic ("": its account's inbox), with the stored log (or, for a based
// group, a snapshot of st).
func (t *txn) welcomeV2To(g *storage.GroupRecord, st *membership.State, ins []*storage.InstallationRecord, join epoch.Join, topic string) ([]*storage.OutboxRecord, error) {
	return t.welcomeV2With(g, st, ins, join, topic, nil)
}

// welcomeMembership returns what a Welcome v2 carries of g's membership (g's stored log
// is st's): the log, or a snapshot of st carrying added and st's head events (spec:
// "Welcome v2", snapshot add Welcome) when g is based (it holds no log to send) or when
// added (an add's events) is given and the snapshot is smaller than the log (or always).
func welcomeMembership(g *storage.GroupRecord, st *membership.State, added []membership.Event, always bool) (log, snapshot []byte, err error) {
	if st.Base == nil && (len(added) == 0 || st.Version != membership.RulesCausal) {
		return g.Events, nil, nil
	}
	carry := slices.Clone(added)
	for _, list := range [][]membership.Event{st.Events, st.Overridden} {
		for i := range list {
			if slices.Contains(st.Heads, list[i].ID()) {
				carry = append(carry, list[i])
			}
		}
	}
	snap, err := membership.SnapshotOf(st, carry)
	if err != nil {
		if st.Base != nil {
			return nil, nil, err
		}
		return g.Events, nil, nil
	}
	b, err := snap.MarshalSnapshot()
	if err != nil {
		return nil, nil, err
	}
	if st.Base == nil && !always && len(b) >= len(g.Events) {
		return g.Events, nil, nil
	}
	return nil, b, nil
}

// welcomeV2With is welcomeV2To for the newcomers of an add (added: its events; nil: any
// other Welcome).
func (t *txn) welcomeV2With(g *storage.GroupRecord, st *membership.State, ins []*storage.InstallationRecord, join epoch.Join, topic string,
	added []membership.Event) ([]*storage.OutboxRecord, error) {
	if len(ins) == 0 {
		return nil, nil
	}
	log, snap, err := welcomeMembership(g, st, added, t.c.opt.snapshots)
	if err != nil {
		return nil, err
	}
	jb, err := join.MarshalBinary()
	if err != nil {
		return nil, err
	}
	cards, err := t.contactDeviceLists(st.Members)
	if err != nil {
		return nil, err
	}
	own, err := t.ownDeviceList(0)
	if err != nil {
		return nil, err
	}
	// The first part may use the headroom an initial message keeps for the largest
	// sender's device list beyond ours: the log of a creation with ~1000 members alone
	// is about 135 KB.
	logBudget := t.c.welcomeLimit + (transport.MaxPayload - welcomeBudget) - len(own) - welcomeFraming
	bodies, err := splitWelcomeV2(&wire.WelcomeV2{GroupID: g.ID, ChatID: g.ChatID, Secret: g.Secret, Buckets: g.Buckets,
		SentAt: uint64(t.c.now().UnixMilli()), Join: jb, Membership: log, Snapshot: snap}, cards, t.c.welcomeLimit, max(logBudget, t.c.welcomeLimit))
	if err != nil {
		return nil, err
	}
	return t.sendWelcomesV2(ins, bodies, topic)
}

// sendWelcomesV2 sends the Welcome v2 parts bodies to each unrevoked installation of ins
// other than ours, on topic ("": its account's inbox).
func (t *txn) sendWelcomesV2(ins []*storage.InstallationRecord, bodies [][]byte, topic string) ([]*storage.OutboxRecord, error) {
	var outs []*storage.OutboxRecord
	for _, in := range ins {
		if in.Revoked || in.ID == t.c.acct.inst {
			continue
		}
		for _, body := range bodies {
			tp, frame, err := t.sealPairwiseTo(in, &wire.PairwiseMessage{Type: wire.PairwiseWelcomeV2, Body: body}, topic)
			if err != nil {
				t.c.log.Debug("welcome: no session", "installation", in.ID.String()[:8], "err", err)
				break
			}
			o, err := t.queue(tp, frame, nil)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o)
		}
	}
	return outs, nil
}

// linkRekeyV2 brings new installations of a member (a linked device, a sibling the
// inviter did not know) into a v2 group: a rekey whose seed goes to every installation
// of the membership in the block and, with the join, in a Welcome v2 to the new ones
// (on topic; "": their inbox). The device-list change is a key event this way.
func (t *txn) linkRekeyV2(g *storage.GroupRecord, gc *groupCache, welcome []*storage.InstallationRecord, topic string) ([]*storage.OutboxRecord, error) {
	s, m, err := loadV2(g)
	if err != nil {
		return nil, err
	}
	return t.rekeyWelcomeV2(g, gc, s, m, welcome, topic, nil, nil)
}

// rekeyWelcomeV2 rekeys with slots for the membership and welcome, and sends welcome a
// Welcome v2 with the rekey's join (on topic; "": their inbox).
func (t *txn) rekeyWelcomeV2(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, welcome []*storage.InstallationRecord, topic string,
	msg []byte, id *MessageID) ([]*storage.OutboxRecord, error) {
	outs, seed, ev, err := t.rekeyV2Seed(g, gc, s, m, welcome, msg, id)
	if err != nil {
		return nil, err
	}
	j, err := s.JoinFor(ev, &seed)
	if err != nil {
		return nil, err
	}
	full, err := t.Group(g.ID)
	if err != nil {
		return nil, err
	}
	w, err := t.welcomeV2To(full, t.stateOf(gc), welcome, j, topic)
	if err != nil {
		return nil, err
	}
	return append(outs, w...), nil
}

// welcomeFraming bounds what an initial pairwise message adds to a Welcome body besides
// the sender's device list: inbox frame, X3DH header, Double Ratchet header and tag,
// pairwise message header.
const welcomeFraming = 2048

// splitWelcomeV2 encodes w with the cards, split to fit budget each: the first part
// carries the join and the event log (up to logBudget: it then carries no card if the log
// leaves no room), the others device lists only.
func splitWelcomeV2(w *wire.WelcomeV2, cards [][]byte, budget, logBudget int) ([][]byte, error) {
	size := func(x *wire.WelcomeV2) int {
		b, _ := x.Marshal()
		return len(b)
	}
	cur := *w
	cur.DeviceLists = nil
	n := size(&cur)
	if n > max(budget, logBudget) {
		return nil, errors.New("protocol: group event log too large for a Welcome")
	}
	var out [][]byte
	for _, card := range cards {
		if n+2+len(card) > budget && (len(cur.DeviceLists) > 0 || len(cur.Membership) > 0 || len(cur.Snapshot) > 0) {
			b, err := cur.Marshal()
			if err != nil {
				return nil, err
			}
			out = append(out, b)
			cur = wire.WelcomeV2{GroupID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, SentAt: w.SentAt}
			n = size(&cur)
		}
		cur.DeviceLists = append(cur.DeviceLists, card)
		n += 2 + len(card)
	}
	b, err := cur.Marshal()
	if err != nil {
		return nil, err
	}
	return append(out, b), nil
}

// handleWelcomeV2 joins a v2 group from a Welcome v2 sent by from, or merges its log
// into a group we hold. The join is used only by the Welcome that makes us join: a member
// keeps its own schedule; a group we left or were removed from is never re-joined by a
// Welcome whose merged log does not make us a member.
func (t *txn) handleWelcomeV2(from string, inst InstallationID, w *wire.WelcomeV2) error {
	c := t.c
	now := c.now()
	g, err := t.Group(w.GroupID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		g = nil
	case err != nil:
		return err
	}
	if g != nil && g.ChatID != w.ChatID {
		return errors.New("protocol: welcome for a known group id with another chat id")
	}
	var gc *groupCache
	var stored *membership.State
	if g != nil {
		if _, gc, err = t.group(g.ID); err != nil {
			return err
		}
		stored = &gc.state
	}
	if gc != nil && joiningV2(gc) && !createdBy(g.ChatID, from) && from != c.acct.id {
		// Still joining from the creator's creation Welcome: only our inviter (the
		// creator) or our own account may complete or replace that state. Another
		// account's Welcome (a member's log with a join of its choosing, an admin's
		// snapshot with a fresh add of us) would set our epoch and membership to its
		// word (TestSecJoiningWelcomeTakeover); it waits (a pending envelope, bounded as
		// every one) and is judged as a member's Welcome once we have joined.
		return errPending
	}
	if w.Snapshot != nil {
		return t.handleSnapshotWelcome(from, inst, g, gc, w)
	}
	if w.Join != nil && len(w.Membership) == 0 {
		return t.joinCreationV2(from, g, w) // a creation Welcome (spec: "Welcome v2")
	}
	if gc != nil && joiningV2(gc) {
		// Still joining from a creation Welcome: the creator's (or our own account's)
		// Welcome with a log joins afresh.
		g, gc, stored = nil, nil, nil
	}
	if w.Join == nil {
		// A continuation part: cards of the group its first part created.
		if g == nil || g.Status != GroupActive {
			return errPending
		}
		for _, raw := range w.DeviceLists {
			if v, err := verifyDeviceList(raw, now); err == nil && gc.state.IsMember(v.Account) {
				if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
					return err
				}
			}
		}
		return nil
	}
	st, msg, err := membership.Update(stored, w.Membership, c.acct.id, now, membership.ChorusRules())
	if err != nil {
		return fmt.Errorf("protocol: welcome membership: %w", err)
	}
	boundPending(&st)
	if g != nil && (g.Status != GroupActive || isV2(g) && len(g.Schedule) > 0) {
		// A group we are in (keep our schedule) or no longer in: merge the log; the one
		// path every membership change takes decides (it never re-joins us).
		if g.Status != GroupActive && !st.IsMember(c.acct.id) {
			if g.Events, err = encodeEvents(&st); err != nil {
				return err
			}
			setMeta(g, &st)
			g.UpdatedAt = now
			if err := t.PutGroup(g); err != nil {
				return err
			}
			members := memberSet(&st)
			t.onCommit(func() { gc.state, gc.members = st, members })
			c.log.Debug("welcome for a group we are no longer in: log merged, not joined")
			return nil
		}
		if g.Status == GroupActive {
			// A member's Welcome for a group we are in: a rekey that stands in for
			// forwarding (we missed a concurrent event's seed). Its log is merged by the
			// one path every membership change takes, its join into our schedule. Only a
			// current member's unrevoked installation is heard: a departed one (even one
			// removed concurrently with the rekey it welcomes us to) could claim seeds of
			// its choosing for our frontier (TestSecDepartedWelcome); its rekey reaches
			// us in its key block, judged once by processKeyBlock.
			return t.memberWelcome(g, gc, &st, from, inst, msg.Events, w)
		}
		// Re-added after we left or were removed: join afresh below.
	}
	// The log proves we were added (the rules apply only an admin's add); the Welcome may
	// come from any member: the inviter, or the installation that rekeyed for us because
	// our add was concurrent with another key event.
	if st.ChatID != w.ChatID || !st.IsMember(c.acct.id) || !(st.IsMember(from) || from == c.acct.id) {
		return errors.New("protocol: welcome not from a member or not naming us")
	}
	return t.joinV2(from, w, &st)
}

// memberWelcome handles a Welcome for a group we are in (a member's rekey Welcome,
// standing in for forwarding, or an inviter's full log): next is our state merged with
// carried, the events the Welcome carries (its log, or its snapshot's carried events).
// Only an unrevoked installation of a member of next is heard, and only if the Welcome
// knows the add that made us a member (welcomeKnowsOurAdd); then the events are merged
// by the one path every membership change takes and the join into our schedule.
func (t *txn) memberWelcome(g *storage.GroupRecord, gc *groupCache, next *membership.State, from string, inst InstallationID,
	carried []membership.Event, w *wire.WelcomeV2) error {
	self := t.c.acct.id
	if !next.IsMember(from) || !next.IsMember(self) {
		return errors.New("protocol: welcome for a group we are in, not from a member")
	}
	if in, err := t.Installation(inst); err != nil || in.Revoked || in.Account != from {
		return errors.New("protocol: welcome for a group we are in, from an unknown or revoked installation")
	}
	if !welcomeKnowsOurAdd(t.stateOf(gc), self, carried) {
		return errors.New("protocol: welcome for an earlier membership of ours")
	}
	if err := t.applyMembership(g, gc, *next, w.DeviceLists, false); err != nil {
		return err
	}
	gave, err := t.mergeJoin(g, gc, w.Join, keyAuthor(from))
	if errors.Is(err, epoch.ErrUnknownPrev) {
		// As a key block naming ids we do not know past the bound: it waits (everything
		// above rolled back), among its sender's pending envelopes, for those events.
		t.claim = append([]byte("inst"), inst[:]...)
		return errPending
	}
	if err != nil || !gave {
		// A Welcome that gave us no epoch opens nothing that came before it: no catch-up
		// (review 6, TestSecWelcomeCatchUpNoOp: each one cost a fetch of our whole query
		// set from its claimed time, the history window, and a cleared junk filter).
		return err
	}
	// The epochs it gave us may have opened publishes that came before it.
	return t.catchUpFromWelcome(g.Topic, w.SentAt)
}

// welcomeKnowsOurAdd reports whether the events carried by a Welcome for a group we are
// in hold the add that made us a member in st (the last applied MEMBERS_ADDED naming
// self), among them or in the causal past of one (through their parents and the events
// we hold). A Welcome made for an earlier membership of ours (delayed, or sent by a
// member that has not learnt our removal and re-add) does not: its join names key events
// the others superseded before our re-add, which our schedule, joined afresh, cannot
// tell from new ones; merged, they would move us to an epoch of our own for good
// (TestSecStaleWelcomeAfterReAdd). The creator of a group it never left has no add.
func welcomeKnowsOurAdd(st *membership.State, self string, carried []membership.Event) bool {
	var add *membership.Event
	for i := len(st.Events) - 1; i >= 0 && add == nil; i-- {
		if e := &st.Events[i]; e.Type == membership.MembersAdded && e.Members.Contains(self) {
			add = e
		}
	}
	if add == nil {
		return true
	}
	want := epoch.ID(add.ID())
	byID := make(map[epoch.ID]*membership.Event, len(carried))
	parents := make([]membership.EventID, 0, len(carried))
	for i := range carried {
		id := carried[i].ID()
		if epoch.ID(id) == want {
			return true
		}
		byID[epoch.ID(id)] = &carried[i]
		parents = append(parents, carried[i].Parents...)
	}
	held := st.Log()
	for i := range held {
		if id := epoch.ID(held[i].ID()); byID[id] == nil {
			byID[id] = &held[i]
		}
	}
	return causalPast(byID, parents)[want]
}

// joinV2 joins the v2 group of Welcome w (sent by from) with membership state st: its
// schedule from the join, the members' cards, the group stored and synced.
func (t *txn) joinV2(from string, w *wire.WelcomeV2, st *membership.State) error {
	c := t.c
	now := c.now()
	j, err := epoch.ParseJoin(epoch.ID(w.GroupID), w.Join)
	if err != nil {
		return err
	}
	if err := checkJoinRoots(st, j); err != nil {
		return err
	}
	s, err := epoch.NewScheduleFromJoin(epoch.ID(w.GroupID), j)
	if err != nil {
		return err
	}
	for _, raw := range w.DeviceLists {
		v, err := verifyDeviceList(raw, now)
		if err != nil || !st.IsMember(v.Account) {
			continue
		}
		if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
			return err
		}
	}
	g, err := t.storeJoinedV2(w, s, st)
	if err != nil {
		return err
	}
	c.log.Debug("joined by welcome v2", "group", g.ID.String()[:8], "from", from[:8], "frontier", shortIDs(s.Frontier()),
		"snapshot", st.Base != nil)
	t.emit(&GroupJoined{Group: g.ID, Name: st.Name, Inviter: from})
	if from != c.acct.id {
		return t.catchUpSiblingsLists(g, st, w.DeviceLists)
	}
	return nil
}

// keyAuthor is the author key events and Welcome entries a schedule holds on an account's
// word are counted against (epoch.Author, spec "Frontier": per account, not per
// installation, so that an account's up to 16 installations share one budget): the first
// 16 bytes of SHA-256 of the account id.
func keyAuthor(account string) epoch.Author {
	h := sha256.Sum256([]byte(account))
	return epoch.Author(h[:epoch.AuthorSize])
}

// mergeJoin applies a join received by a member of the group into its schedule: the
// entries' events with their prev sets, their seeds and contributions. Departures the
// join's rekey excluded are healed by it. by is the sender's account's author: the
// entries not seen in a key block are held on its word. gave reports whether the join gave
// us a live epoch we did not have.
func (t *txn) mergeJoin(g *storage.GroupRecord, gc *groupCache, raw []byte, by epoch.Author) (gave bool, err error) {
	j, err := epoch.ParseJoin(epoch.ID(g.ID), raw) // a rekey entry's id checked against its prev
	if err != nil {
		return false, err
	}
	s, m, err := loadV2(g)
	if err != nil {
		return false, err
	}
	if err := t.checkJoinPrev(gc, s, j); err != nil {
		return false, err
	}
	had := s.Live() // an epoch of the same id may come back with another secret (AdmitJoin)
	defer wipeEpochs(had)
	for _, e := range j {
		// Held on the sender's word, entries and unknown prev ids alike: a join names prev
		// ids as freely as a rekey does (one Welcome of 31 entries could record 992 made-up
		// ids, TestSecWelcomeJoinUnknownPrev), and its entries are applied events (2 100
		// Welcomes of made-up entries filled MaxKnownEvents, TestSecWelcomeEntriesPerSender).
		// Past the sender's budget the Welcome waits (memberWelcome). Our refused
		// events an entry names are ours to know, not held (refuseNamed).
		m.refuseNamed(s, e.Prev)
		if err := s.ApplyWelcomed(epoch.Event{ID: e.Event, Prev: e.Prev, Rekey: e.Rekey}, by); err != nil && !errors.Is(err, epoch.ErrDuplicate) {
			return false, err
		}
	}
	f := j.Frontier()
	for _, e := range j {
		switch e.Kind {
		case epoch.SlotSeed:
			seed := epoch.Seed(e.Value)
			_ = s.SetSeed(e.Event, &seed)
		case epoch.SlotContribution:
			x := epoch.ID(e.Value)
			_ = s.SetContribution(e.Event, f, &x)
		}
	}
	if s.Frontier().Equal(f) {
		m.Uncovered = nil
	} else if err := s.AdmitJoin(j); err != nil {
		// The join's own epoch stays live: its sender seals under it until it learns
		// our frontier (TestConcurrentMembershipChanges: a newcomer welcomed first by a
		// healing rekey could not open its inviter's next key event).
		return false, err
	}
	t.c.log.Debug("join merged", "group", g.ID.String()[:8], "join", shortIDs(f), "frontier", shortIDs(s.Frontier()),
		"missing", len(s.Missing()))
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return false, err
	}
	if err := t.PutGroupState(g); err != nil {
		return false, err
	}
	t.healLater(g.ID)
	now := s.Live()
	gave = slices.ContainsFunc(now, func(e epoch.Epoch) bool { return !slices.Contains(had, e) })
	wipeEpochs(now)
	return gave, nil
}

// wipeEpochs clears the secrets of copies of live epochs.
func wipeEpochs(es []epoch.Epoch) {
	for i := range es {
		clear(es[i].Secret[:])
	}
}

// storeJoinedV2 stores the v2 group a Welcome joins us to, with schedule s and (unless
// nil: a creation Welcome, whose events come in the group) membership state st, and
// syncs its topic from just before the Welcome was sent.
func (t *txn) storeJoinedV2(w *wire.WelcomeV2, s *epoch.Schedule, st *membership.State) (*storage.GroupRecord, error) {
	now := t.c.now()
	g := &storage.GroupRecord{ID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, JoinedAt: now, UpdatedAt: now}
	g.Topic = topics.GroupTopic(w.Secret[:], w.Buckets)
	if st != nil {
		setMeta(g, st)
		var err error
		if g.Events, err = encodeEvents(st); err != nil {
			return nil, err
		}
	}
	if err := t.retireChains(g.ID, nil); err != nil {
		return nil, err
	}
	if err := t.storeSchedule(g, nil, s, &epochMeta{V: 2}); err != nil {
		return nil, err
	}
	if err := t.PutGroup(g); err != nil {
		return nil, err
	}
	if _, err := t.cacheGroup(g); err != nil {
		return nil, err
	}
	return g, t.catchUpFromWelcome(g.Topic, w.SentAt)
}
