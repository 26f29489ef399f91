package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
	"github.com/chorus-im/chorus/transport"
)

// This file is the engine side of key schedule v2 (spec: protocol, "Key schedule v2
// (epochs)"): the group's epoch.Schedule, sending and receiving chains per epoch, key
// blocks in the publish of the key event, Welcome v2 with its join, and the healing
// rekeys. A group is of the v2 schedule when its record carries EpochMeta.

// adSlotV2 is the Double Ratchet purpose of a v2 rotation slot.
const adSlotV2 byte = 3

// labelMessageIDV2 names v2 message ids.
const labelMessageIDV2 = "chorus/v2/protocol/message-id"

// epochMeta is the engine's bookkeeping of a v2 group's frontier, stored as JSON in
// GroupRecord.EpochMeta (no secret in it).
type epochMeta struct {
	V int `json:"v"` // 2
	// Departs lists the frontier events that remove or revoke an installation (hex ids).
	Departs []string `json:"d,omitempty"`
	// Covered records, per frontier event (hex id), who holds its seed: the slot hints
	// of its key block (slot hints are per event and recipient), its author, and the
	// accounts it added (their installations got the seed in a Welcome). An event
	// without an entry (learnt from a join, or a block split in parts) counts as
	// reaching everyone.
	Covered map[string]*coverage `json:"c,omitempty"`
	// Uncovered are installations that left (or were removed) and that no applied key
	// event excluded yet: the current epoch may be theirs (spec: "Rekeys after a leave").
	Uncovered []InstallationID `json:"u,omitempty"`
	// Epochs are the ids of the epochs held since we joined, newest last (bounded), for R1.
	Epochs []string `json:"e,omitempty"`
	// Kept are the seeds kept for opening concurrent senders' publishes (see keptSeed).
	Kept []keptSeed `json:"k,omitempty"`
}

const maxMetaEpochs = 64

// coverage is who holds the seed of one key event (see epochMeta.Covered).
type coverage struct {
	Author InstallationID `json:"a"`
	// Departed: authored by an installation no longer a member (concurrently with its
	// removal): its Welcomes are refused, so it counts as reaching no one but itself, and
	// the installations it misses do not stand aside as designated.
	Departed bool     `json:"x,omitempty"`
	Hints    []string `json:"h,omitempty"` // hex slot hints
	Adds     []string `json:"n,omitempty"` // accounts added by the event
}

// newCoverage records the installations ins (and accounts adds) as holding the seed of
// event e authored by author.
func newCoverage(e epoch.ID, author InstallationID, ins []InstallationRecord, adds []string) *coverage {
	cv := &coverage{Author: author, Adds: adds}
	for _, in := range ins {
		h := epoch.SlotHint(e, epoch.Installation(in.ID))
		cv.Hints = append(cv.Hints, hex.EncodeToString(h[:]))
	}
	return cv
}

// covers reports whether installation in holds the seed of event e.
func (cv *coverage) covers(e epoch.ID, in *InstallationRecord) bool {
	if in.ID == cv.Author {
		return true
	}
	if cv.Departed {
		return false
	}
	if slices.Contains(cv.Adds, in.Account) {
		return true
	}
	h := epoch.SlotHint(e, epoch.Installation(in.ID))
	return slices.Contains(cv.Hints, hex.EncodeToString(h[:]))
}

func isV2(g *GroupRecord) bool { return len(g.EpochMeta) > 0 }

func loadMeta(g *GroupRecord) (*epochMeta, error) {
	m := &epochMeta{}
	if err := json.Unmarshal(g.EpochMeta, m); err != nil || m.V != 2 {
		return nil, fmt.Errorf("protocol: bad epoch bookkeeping: %v", err)
	}
	if m.Covered == nil {
		m.Covered = map[string]*coverage{}
	}
	return m, nil
}

func (m *epochMeta) store(g *GroupRecord) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	g.EpochMeta = b
	return nil
}

// prune keeps the bookkeeping of the frontier events only.
func (m *epochMeta) prune(f epoch.Frontier) {
	in := make(map[string]bool, len(f))
	for _, id := range f {
		in[id.String()] = true
	}
	m.Departs = slices.DeleteFunc(m.Departs, func(s string) bool { return !in[s] })
	for k := range m.Covered {
		if !in[k] {
			delete(m.Covered, k)
		}
	}
}

func (m *epochMeta) noteEpoch(id epoch.ID) {
	s := id.String()
	if len(m.Epochs) > 0 && m.Epochs[len(m.Epochs)-1] == s || slices.Contains(m.Epochs, s) {
		return
	}
	m.Epochs = append(m.Epochs, s)
	if len(m.Epochs) > maxMetaEpochs {
		m.Epochs = m.Epochs[len(m.Epochs)-maxMetaEpochs:]
	}
}

// loadV2 decodes a v2 group's schedule and its epoch bookkeeping.
func loadV2(g *GroupRecord) (*epoch.Schedule, *epochMeta, error) {
	s, err := loadSchedule(g)
	if err != nil {
		return nil, nil, err
	}
	m, err := loadMeta(g)
	if err != nil {
		return nil, nil, err
	}
	return s, m, nil
}

// loadSchedule decodes the group's schedule (ErrNotMember when we hold none: a group we
// left or were removed from).
func loadSchedule(g *GroupRecord) (*epoch.Schedule, error) {
	if len(g.Schedule) == 0 {
		return nil, ErrNotMember
	}
	s := epoch.NewSchedule(epoch.ID(g.ID))
	if err := s.UnmarshalBinary(g.Schedule); err != nil {
		return nil, err
	}
	return s, nil
}

// storeSchedule computes the current epoch if it can, stores the schedule and the
// bookkeeping in g (the caller puts g), deletes the chains of retired epochs, and
// refreshes the cache's live epochs at commit.
func (t *txn) storeSchedule(g *GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta) error {
	cur, err := s.Current()
	complete := err == nil
	if err != nil && !errors.Is(err, epoch.ErrIncomplete) {
		return err
	}
	if complete {
		m.noteEpoch(cur.ID)
	}
	m.prune(s.Frontier())
	m.keep(s)
	if g.Schedule, err = s.MarshalBinary(); err != nil {
		return err
	}
	if err := m.store(g); err != nil {
		return err
	}
	live := openable(s, m)
	keep := make([][32]byte, len(live))
	for i := range live {
		keep[i] = live[i].ID
	}
	if err := t.DeleteEpochChains(g.ID, keep); err != nil {
		return err
	}
	if gc != nil {
		var curp *epoch.Epoch
		if complete {
			c := cur
			curp = &c
		}
		t.setLive(gc, live, curp)
	}
	return nil
}

// Concurrent key events: an installation that authored or applied some of our
// frontier's events but not the others seals under an epoch we never computed (its
// frontier), and a key event's publish is sealed under its author's previous epoch, which
// we may have moved past before it arrives. To read those publishes we keep the seeds of
// the last maxKeptSeeds key events whose seeds we held (also once superseded) and derive,
// for opening only (never for sending), the epochs of every antichain of up to
// maxCandidateSize of them that is not live (spec: protocol, "Key schedule v2", engine:
// concurrent senders).
const (
	maxKeptSeeds     = 6
	maxCandidateSize = 3
)

// keptSeed is a key event's seed kept for opening concurrent senders' publishes.
type keptSeed struct {
	ID   string   `json:"i"`
	Prev []string `json:"p,omitempty"`
	Seed string   `json:"s"`
}

// keep records the seeds of the frontier events we hold (see keptSeed).
func (m *epochMeta) keep(s *epoch.Schedule) {
	for _, id := range s.Frontier() {
		seed, ok := s.Seed(id)
		if !ok || slices.ContainsFunc(m.Kept, func(k keptSeed) bool { return k.ID == id.String() }) {
			continue
		}
		k := keptSeed{ID: id.String(), Seed: hex.EncodeToString(seed[:])}
		clear(seed[:])
		for _, p := range s.Prev(id) {
			k.Prev = append(k.Prev, p.String())
		}
		m.Kept = append(m.Kept, k)
	}
	if len(m.Kept) > maxKeptSeeds {
		m.Kept = m.Kept[len(m.Kept)-maxKeptSeeds:]
	}
}

// openable returns the epochs whose outer keys open group payloads for us, oldest first
// and the newest live epoch last: the candidate epochs of kept seeds (see keptSeed), then
// the live epochs.
func openable(s *epoch.Schedule, m *epochMeta) []epoch.Epoch {
	live := s.Live()
	type ev struct {
		id   epoch.ID
		prev []string
		seed epoch.Seed
	}
	var pool []ev
	for _, k := range m.Kept {
		id, err1 := hex.DecodeString(k.ID)
		seed, err2 := hex.DecodeString(k.Seed)
		if err1 != nil || err2 != nil || len(id) != 32 || len(seed) != 32 {
			continue
		}
		pool = append(pool, ev{id: epoch.ID(id), prev: k.Prev, seed: epoch.Seed(seed)})
	}
	group := s.Group()
	var out []epoch.Epoch
	var walk func(start int, cur []int)
	walk = func(start int, cur []int) {
		if len(cur) > 0 {
			ids := make([]epoch.ID, len(cur))
			for i, j := range cur {
				ids[i] = pool[j].id
			}
			if f, err := epoch.NewFrontier(ids...); err == nil {
				xs := make([]epoch.ID, 0, len(f))
				for _, id := range f {
					for _, j := range cur {
						if pool[j].id == id {
							if x, err := epoch.Contribution(group, &pool[j].seed, id, f); err == nil {
								xs = append(xs, x)
							}
						}
					}
				}
				if len(xs) == len(f) {
					if e, err := epoch.Compose(group, f, xs); err == nil &&
						!slices.ContainsFunc(live, func(l epoch.Epoch) bool { return l.ID == e.ID }) &&
						!slices.ContainsFunc(out, func(l epoch.Epoch) bool { return l.ID == e.ID }) {
						out = append(out, e)
					}
				}
			}
		}
		if len(cur) == maxCandidateSize {
			return
		}
	next:
		for j := start; j < len(pool); j++ {
			for _, i := range cur { // an antichain: no member names another as prev
				if slices.Contains(pool[j].prev, pool[i].id.String()) || slices.Contains(pool[i].prev, pool[j].id.String()) {
					continue next
				}
			}
			walk(j+1, append(slices.Clone(cur), j))
		}
	}
	walk(0, nil)
	for i := range pool {
		clear(pool[i].seed[:])
	}
	return append(out, live...)
}

// setLive installs the live epochs in the cache at commit (a new epoch can open
// envelopes the junk filter remembers: it is cleared).
func (t *txn) setLive(gc *groupCache, live []epoch.Epoch, cur *epoch.Epoch) {
	c := t.c
	t.onCommit(func() {
		gc.live, gc.cur = live, cur
		c.junk.reset()
	})
	t.newKeys = true
}

// cacheEpochs fills a new cache entry's live epochs from the stored schedule.
func cacheEpochs(g *GroupRecord, gc *groupCache) {
	gc.v2 = isV2(g)
	if !gc.v2 || len(g.Schedule) == 0 {
		return
	}
	s, m, err := loadV2(g)
	if err != nil {
		return
	}
	gc.live = openable(s, m)
	if s.Frontier() != nil && len(s.Missing()) == 0 && len(gc.live) > 0 {
		eid, err := epoch.EpochID(epoch.ID(g.ID), s.Frontier())
		if err == nil && gc.live[len(gc.live)-1].ID == eid {
			c := gc.live[len(gc.live)-1]
			gc.cur = &c
		}
	}
}

// keyEventOf returns the event of a signed batch that is its key event: the first that
// changes the set of installations — creation, an add, a removal by someone else. A leave
// (the author removing itself) is not a key event: the leaver must not draw the seed.
func keyEventOf(evs []membership.Event) (membership.Event, bool) {
	for _, ev := range evs {
		switch ev.Type {
		case membership.ChatCreated, membership.MembersAdded:
			return ev, true
		case membership.MemberRemoved:
			if !(len(ev.Members) == 1 && ev.Members[0] == ev.From) {
				return ev, true
			}
		}
	}
	return membership.Event{}, false
}

// appliedEvent returns the applied event of st with id.
func appliedEvent(st *membership.State, id epoch.ID) (membership.Event, bool) {
	for _, ev := range st.Events {
		if epoch.ID(ev.ID()) == id {
			return ev, true
		}
	}
	return membership.Event{}, false
}

// installationsOf returns the unrevoked installations we know of the accounts (ours
// included).
func (t *txn) installationsOf(accounts []string) ([]InstallationRecord, error) {
	var out []InstallationRecord
	for _, m := range accounts {
		ins, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if !in.Revoked {
				out = append(out, in)
			}
		}
	}
	return out, nil
}

// designated reports whether we are the designated installation of the membership: the
// bytewise smallest unrevoked installation id of its members (spec: "Rekeys"), leaving
// out those a frontier event's seed missed (they may not know it).
func (t *txn) designated(st *membership.State, except []*InstallationRecord) (bool, error) {
	ins, err := t.installationsOf(st.Members)
	if err != nil {
		return false, err
	}
	ids := make([]epoch.Installation, 0, len(ins)+1)
	for _, in := range ins {
		if !slices.ContainsFunc(except, func(x *InstallationRecord) bool { return x.ID == in.ID }) {
			ids = append(ids, epoch.Installation(in.ID))
		}
	}
	ids = append(ids, epoch.Installation(t.c.acct.inst))
	d, ok := epoch.Designated(ids)
	return ok && d == epoch.Installation(t.c.acct.inst), nil
}

// unhealed reports whether the current epoch must be rekeyed before anything is sent
// under it: a departure no key event excluded, concurrent events one of which departs
// (spec: "Rekeys after a leave and after concurrent removals"), a frontier event whose
// seed misses an installation of the current membership (a newcomer added concurrently:
// the rekey, with a Welcome to it, stands in for forwarding), or seeds missing for the
// frontier.
func (t *txn) unhealed(gc *groupCache, s *epoch.Schedule, m *epochMeta) (bool, error) {
	f := s.Frontier()
	fe := make([]epoch.FrontierEvent, len(f))
	for i, id := range f {
		fe[i] = epoch.FrontierEvent{ID: id, Departs: slices.Contains(m.Departs, id.String())}
	}
	if epoch.Unhealed(fe, len(m.Uncovered) > 0) || len(s.Missing()) > 0 {
		return true, nil
	}
	gaps, err := t.coverageGaps(gc, s, m)
	return len(gaps) > 0, err
}

// coverageGaps returns the installations of the current membership that some frontier
// event's seed did not reach (see epochMeta.Covered).
func (t *txn) coverageGaps(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*InstallationRecord, error) {
	gaps, _, err := t.coverageGapsSplit(gc, s, m)
	return gaps, err
}

// coverageGapsSplit is coverageGaps that also returns the gaps left by events of
// members (not departed authors): those installations may lack events the others hold,
// so they stand aside when the designated installation is chosen.
func (t *txn) coverageGapsSplit(gc *groupCache, s *epoch.Schedule, m *epochMeta) ([]*InstallationRecord, []*InstallationRecord, error) {
	var members []InstallationRecord
	var out, strong []*InstallationRecord
	for _, id := range s.Frontier() {
		cv, ok := m.Covered[id.String()]
		if !ok {
			continue
		}
		if members == nil {
			var err error
			if members, err = t.installationsOf(t.stateOf(gc).Members); err != nil {
				return nil, nil, err
			}
		}
		for i := range members {
			in := &members[i]
			if in.ID == t.c.acct.inst || cv.covers(id, in) {
				continue
			}
			if !slices.ContainsFunc(out, func(x *InstallationRecord) bool { return x.ID == in.ID }) {
				out = append(out, in)
			}
			if !cv.Departed && !slices.ContainsFunc(strong, func(x *InstallationRecord) bool { return x.ID == in.ID }) {
				strong = append(strong, in)
			}
		}
	}
	return out, strong, nil
}

// v2Context is what a v2 send needs: schedule, bookkeeping, the epoch to seal under.
type v2Context struct {
	s  *epoch.Schedule
	m  *epochMeta
	ep epoch.Epoch
}

// prepareV2 loads the schedule of a group we are in and says whether its epoch must be
// healed (rekeyed) before anything is sent under it; ep is the epoch to seal the next
// message under: the current one, or while unhealed our newest live one (the message
// then rides with the rekey, in the same publish, sealed under our previous epoch as a
// key event's publish is).
func (t *txn) prepareV2(g *GroupRecord, gc *groupCache) (*v2Context, bool, error) {
	s, m, err := loadV2(g)
	if err != nil {
		return nil, false, err
	}
	key := append(append([]byte{}, g.Schedule...), g.EpochMeta...)
	bad := false
	if !bytes.Equal(gc.healthy, key) || t.states[g.ID] != nil {
		if bad, err = t.unhealed(gc, s, m); err != nil {
			return nil, false, err
		}
		if !bad {
			t.onCommit(func() { gc.healthy = key })
		}
	}
	ep, err := s.Current()
	if err != nil {
		if !bad {
			return nil, false, err
		}
		live := s.Live()
		if len(live) == 0 {
			return nil, false, err
		}
		ep = live[len(live)-1]
	}
	return &v2Context{s: s, m: m, ep: ep}, bad, nil
}

// messageIDV2 computes a v2 group message id.
func messageIDV2(group GroupID, inst InstallationID, eid epoch.ID, iteration uint32) MessageID {
	h := sha256.New()
	h.Write([]byte{byte(len(labelMessageIDV2))})
	h.Write([]byte(labelMessageIDV2))
	h.Write(group[:])
	h.Write(inst[:])
	h.Write(eid[:])
	var it [4]byte
	binary.BigEndian.PutUint32(it[:], iteration)
	h.Write(it[:])
	var id MessageID
	h.Sum(id[:0])
	return id
}

// sealMessageV2 seals one group message under epoch ep with our sending chain of it
// (created at iteration 0, leased and stored before anything is published) and stores
// the message as Unpublished. It returns the v2 message and its id.
func (t *txn) sealMessageV2(g *GroupRecord, ep *epoch.Epoch, typ wire.ContentType, body []byte) ([]byte, MessageID, error) {
	c := t.c
	rec, err := t.SenderChain(g.ID, ep.ID)
	sc := new(epoch.SenderChain)
	switch {
	case errors.Is(err, ErrNotFound):
		sc = epoch.NewSenderChain(ep, epoch.Installation(c.acct.inst))
		rec = &EpochChainRecord{Group: g.ID, Epoch: ep.ID}
		t.onCommit(func() { c.resumedEpochs[ep.ID] = g.ID })
	case err != nil:
		return nil, MessageID{}, err
	default:
		if err := sc.UnmarshalBinary(rec.State); err != nil {
			return nil, MessageID{}, err
		}
		if _, ok := c.resumedEpochs[ep.ID]; !ok {
			// The first seal of a process resumes above the durable lease (spec:
			// persistence, "Durability").
			if err := sc.SkipTo(rec.Lease); err != nil {
				return nil, MessageID{}, err
			}
			t.onCommit(func() { c.resumedEpochs[ep.ID] = g.ID })
		}
	}
	if it := sc.Iteration(); it >= rec.Lease {
		rec.Lease = uint32(min(uint64(it)+SenderLease, uint64(^uint32(0))-1))
		t.SyncOnCommit()
	}
	iteration := sc.Iteration()
	id := messageIDV2(g.ID, c.acct.inst, ep.ID, iteration)
	now := c.now()
	pt := &wire.GroupPlaintextV2{Clock: g.Clock + 1, Timestamp: uint64(now.UnixMilli()), Type: typ, Body: body,
		History: shortHistory(g.History)}
	ptb, err := pt.Marshal()
	if err != nil {
		return nil, MessageID{}, err
	}
	msg, err := sc.Seal(c.acct.ident.SigningKey(), ptb)
	if err != nil {
		return nil, MessageID{}, err
	}
	if rec.State, err = sc.MarshalBinary(); err != nil {
		return nil, MessageID{}, err
	}
	if err := t.PutSenderChain(rec); err != nil {
		return nil, MessageID{}, err
	}
	g.Clock++
	g.History = pushHistory(g.History, historyEntry(c.acct.inst, id))
	g.UpdatedAt = now
	mr := &MessageRecord{ID: id, Group: g.ID, SenderAccount: c.acct.id, SenderInstallation: c.acct.inst, Clock: g.Clock,
		Timestamp: now, ReceivedAt: now, Outgoing: true, Status: StatusUnpublished, Type: uint8(typ), Body: body}
	if _, err := t.PutMessage(mr); err != nil {
		return nil, MessageID{}, err
	}
	return msg, id, nil
}

// sealGroupV2 is sealGroup for a v2 group: heal first if needed, then one publish with
// the message under the current epoch.
func (t *txn) sealGroupV2(g *GroupRecord, gc *groupCache, typ wire.ContentType, body []byte) (MessageID, []*OutboxRecord, error) {
	c := t.c
	if g.Status != GroupActive || !gc.isMember(c.acct.id) {
		return MessageID{}, nil, ErrNotMember
	}
	vc, bad, err := t.prepareV2(g, gc)
	if err != nil {
		return MessageID{}, nil, err
	}
	msg, id, err := t.sealMessageV2(g, &vc.ep, typ, body)
	if err != nil {
		return MessageID{}, nil, err
	}
	if err := t.PutGroupState(g); err != nil {
		return MessageID{}, nil, err
	}
	if bad {
		outs, err := t.rekeyV2(g, gc, vc.s, vc.m, msg, &id)
		return id, outs, err
	}
	outs, err := t.queueFrames(g, &vc.ep, []*wire.FrameV2{{Message: msg}}, &id)
	if err != nil {
		return MessageID{}, nil, err
	}
	return id, outs, nil
}

// queueFrames seals frames under ep's outer key and queues them.
func (t *txn) queueFrames(g *GroupRecord, ep *epoch.Epoch, frames []*wire.FrameV2, id *MessageID) ([]*OutboxRecord, error) {
	var outs []*OutboxRecord
	for _, f := range frames {
		b, err := f.Marshal()
		if err != nil {
			return nil, err
		}
		payload, err := epoch.SealOuter(t.c.rand, ep, g.Topic, b)
		if err != nil {
			return nil, err
		}
		if len(payload) > transport.MaxPayload {
			return nil, fmt.Errorf("protocol: group frame of %d bytes exceeds the publish limit", len(payload))
		}
		o, err := t.queue(g.Topic, payload, id)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// buildKeySlots seals the seed of key event E (block header kb) to each installation in
// targets over its pairwise session (starting one with X3DH where needed). It returns the
// slots and the installations served.
func (t *txn) buildKeySlots(g *GroupRecord, kb *epoch.KeyBlock, seed *epoch.Seed, targets []InstallationRecord) ([]epoch.Slot, []InstallationID, error) {
	c := t.c
	ctx := kb.Context(epoch.ID(g.ID))
	pt, err := (&epoch.SlotPlaintext{Kind: epoch.SlotSeed, Seed: *seed}).MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	var slots []epoch.Slot
	var done []InstallationID
	for i := range targets {
		in := &targets[i]
		if in.ID == c.acct.inst || in.Revoked {
			continue
		}
		s, err := t.sessionTo(in)
		if err != nil {
			c.log.Debug("key block: no session", "installation", in.ID.String()[:8], "err", err)
			continue
		}
		msg, err := s.dr.Encrypt(pt, drAD(s.rec.AD, adSlotV2, ctx[:]))
		if err != nil {
			return nil, nil, err
		}
		sl := epoch.Slot{Hint: epoch.SlotHint(kb.Event, epoch.Installation(in.ID)), Kind: epoch.SlotSession, Message: msg}
		if s.pendingInitial() {
			_, hdr := s.x3dhHeader()
			sl.Kind, sl.X3DHHeader = epoch.SlotInitial, hdr
		}
		if err := t.saveSession(s, false); err != nil {
			return nil, nil, err
		}
		slots = append(slots, sl)
		done = append(done, in.ID)
	}
	return slots, done, nil
}

// packKeyFrames splits a key block into as few frames as fit one publish each, the
// message (if any) riding in part 0.
func packKeyFrames(kb epoch.KeyBlock, slots []epoch.Slot, msg []byte, maxFrame int) ([]*wire.FrameV2, error) {
	base := wire.FrameV2Overhead + kb.HeaderSize() + epoch.OuterOverhead - groupOverhead
	var parts [][]epoch.Slot
	var cur []epoch.Slot
	size := base + len(msg)
	for _, sl := range slots {
		b := epoch.KeyBlock{Kind: kb.Kind, Author: kb.Author, Event: kb.Event, Nonce: kb.Nonce, Prev: kb.Prev, Parts: 1, Slots: []epoch.Slot{sl}}
		enc, err := b.MarshalBinary()
		if err != nil {
			return nil, err
		}
		n := len(enc) - kb.HeaderSize()
		if len(cur) > 0 && size+n > maxFrame {
			parts = append(parts, cur)
			cur, size = nil, base
		}
		if size+n > maxFrame {
			return nil, errors.New("protocol: a slot does not fit a publish")
		}
		cur = append(cur, sl)
		size += n
	}
	parts = append(parts, cur)
	if len(parts) > epoch.MaxParts {
		return nil, errors.New("protocol: key block too large")
	}
	frames := make([]*wire.FrameV2, len(parts))
	for i, p := range parts {
		b := kb
		b.Part, b.Parts, b.Slots = uint16(i), uint16(len(parts)), p
		enc, err := b.MarshalBinary()
		if err != nil {
			return nil, err
		}
		frames[i] = &wire.FrameV2{Block: enc}
	}
	if msg != nil {
		frames[0].Message = msg
	}
	return frames, nil
}

// rekeyV2 authors a rekey (prev = our frontier): a fresh seed to every installation of
// the membership, in a block-only publish under our newest live epoch (our previous
// one), and moves our schedule to the new epoch. s and m are updated and stored in g.
func (t *txn) rekeyV2(g *GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, msg []byte, id *MessageID) ([]*OutboxRecord, error) {
	gaps, err := t.coverageGaps(gc, s, m)
	if err != nil {
		return nil, err
	}
	if len(gaps) == 0 {
		outs, _, _, err := t.rekeyV2Seed(g, gc, s, m, nil, msg, id)
		return outs, err
	}
	// Installations a frontier event's seed missed (added concurrently with it) may not
	// open the rekey's publish (sealed under our epoch, which they cannot compute): they
	// get its join, with the event log, in a Welcome v2.
	return t.rekeyWelcomeV2(g, gc, s, m, gaps, "", msg, id)
}

// rekeyV2Seed is rekeyV2 that also gives extra installations (not yet known as members'
// to everyone) a slot, and returns the seed and event id.
func (t *txn) rekeyV2Seed(g *GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, extra []*InstallationRecord,
	msg []byte, id *MessageID) ([]*OutboxRecord, epoch.Seed, epoch.ID, error) {
	c := t.c
	var seed epoch.Seed
	live := s.Live()
	if len(live) == 0 {
		return nil, seed, epoch.ID{}, fmt.Errorf("protocol: no epoch to rekey from: %w", epoch.ErrIncomplete)
	}
	outer := live[len(live)-1]
	if cur, err := s.Current(); err == nil {
		outer = cur
	}
	if msg == nil && len(m.Uncovered) > 0 {
		// A rekey that heals a departure carries the group's latest membership events:
		// an installation added concurrently with the departure (its Welcome's log lacks
		// it) learns it here, under an epoch it holds, before it could take the departed
		// installation for a member to reach.
		body, err := t.recentEventsBody(t.stateOf(gc))
		if err != nil {
			return nil, seed, epoch.ID{}, err
		}
		sealed, mid, err := t.sealMessageV2(g, &outer, wire.ContentMembership, body)
		if err != nil {
			return nil, seed, epoch.ID{}, err
		}
		msg, id = sealed, &mid
	}
	var nonce [epoch.NonceSize]byte
	if _, err := io.ReadFull(c.rand, nonce[:]); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	kb := epoch.NewRekey(epoch.ID(g.ID), epoch.Installation(c.acct.inst), nonce, s.Frontier())
	if err := s.Apply(epoch.Event{ID: kb.Event, Prev: kb.Prev}); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if err := s.SetSeed(kb.Event, &seed); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	targets, err := t.installationsOf(t.stateOf(gc).Members)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	for _, in := range extra {
		if !slices.ContainsFunc(targets, func(x InstallationRecord) bool { return x.ID == in.ID }) {
			targets = append(targets, *in)
		}
	}
	slots, _, err := t.buildKeySlots(g, &kb, &seed, targets)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	frames, err := packKeyFrames(kb, slots, msg, c.frameLimit)
	if err != nil {
		return nil, seed, epoch.ID{}, err
	}
	m.Covered[kb.Event.String()] = newCoverage(kb.Event, c.acct.inst, targets, nil)
	m.Uncovered = nil
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, seed, epoch.ID{}, err
	}
	t.onCommit(func() { c.rekeys++ })
	c.log.Debug("rekey authored", "group", g.ID.String()[:8], "event", shortID(kb.Event), "prev", shortIDs(kb.Prev),
		"outer", shortID(outer.ID), "slots", len(slots), "targets", len(targets))
	outs, err := t.queueFrames(g, &outer, frames, id)
	return outs, seed, kb.Event, err
}

// Rekey authors a rekey of a v2 group (post-compromise recovery): a fresh seed to every
// installation of the membership in one publish; everything sent afterwards is under the
// new epoch. A v1 group returns ErrUnsupportedGroup.
func (c *Client) Rekey(ctx context.Context, id GroupID) error {
	var outs []*OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		g, gc, err := t.groupHot(id)
		if err != nil {
			return err
		}
		if !isV2(g) {
			return ErrUnsupportedGroup
		}
		if g.Status != GroupActive || !gc.isMember(c.acct.id) {
			return ErrNotMember
		}
		s, m, err := loadV2(g)
		if err != nil {
			return err
		}
		outs, err = t.rekeyV2(g, gc, s, m, nil, nil)
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, outs)
	return nil
}

// healV2 rekeys at once when we are the designated installation of an unhealed epoch
// (spec: "Rekeys after a leave and after concurrent removals"); the publish goes out
// after the transaction commits.
func (t *txn) healV2(g *GroupRecord, gc *groupCache) error {
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return nil
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	bad, err := t.unhealed(gc, s, m)
	if err != nil || !bad {
		return err
	}
	if len(s.Missing()) > 0 && len(m.Uncovered) == 0 {
		return nil // waiting for a seed: its sender repeats it; we rekey if we must send
	}
	_, strong, err := t.coverageGapsSplit(gc, s, m)
	if err != nil {
		return err
	}
	late, err := t.lateJoiners(t.stateOf(gc), m)
	if err != nil {
		return err
	}
	if d, err := t.designated(t.stateOf(gc), append(strong, late...)); err != nil || !d {
		return err
	}
	outs, err := t.rekeyV2(g, gc, s, m, nil, nil)
	if err != nil {
		return err
	}
	t.sends = append(t.sends, outs...)
	return nil
}

// changeMembershipV2 is the v2 part of changeMembership: the membership message sealed
// under our current epoch, with the key block of its key event (if it has one) in the
// same publish, the schedule moved to the new epoch, newcomers welcomed with their join.
func (t *txn) changeMembershipV2(g *GroupRecord, gc *groupCache, next membership.State, signed []membership.Event,
	newcomers []string, body []byte) ([]*OutboxRecord, error) {
	c := t.c
	vc, bad, err := t.prepareV2(g, gc)
	if err != nil {
		return nil, err
	}
	msg, id, err := t.sealMessageV2(g, &vc.ep, wire.ContentMembership, body)
	if err != nil {
		return nil, err
	}
	kev, isKey := keyEventOf(signed)
	isKey = isKey && next.IsMember(c.acct.id)
	var outs []*OutboxRecord
	if bad && !isKey {
		// Not a key event: the message rides with the healing rekey.
		if err := t.PutGroupState(g); err != nil {
			return nil, err
		}
		if outs, err = t.rekeyV2(g, gc, vc.s, vc.m, msg, &id); err != nil {
			return nil, err
		}
		full, err := t.Group(g.ID)
		if err != nil {
			return nil, err
		}
		return outs, t.applyMembership(full, gc, next, nil, true)
	}
	frames := []*wire.FrameV2{{Message: msg}}
	var join *epoch.Join
	var gaps []*InstallationRecord
	if isKey {
		// Installations a frontier event missed cannot open this publish (sealed under our
		// epoch): like newcomers they get the key event's join in a Welcome.
		if gaps, err = t.coverageGaps(gc, vc.s, vc.m); err != nil {
			return nil, err
		}
		gaps = slices.DeleteFunc(gaps, func(in *InstallationRecord) bool { return !next.IsMember(in.Account) })
		E := epoch.ID(kev.ID())
		var seed epoch.Seed
		if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
			return nil, err
		}
		prev := vc.s.Frontier()
		if c.hookPrev != nil {
			prev = c.hookPrev(prev)
		}
		if err := vc.s.Apply(epoch.Event{ID: E, Prev: prev}); err != nil {
			return nil, err
		}
		if err := vc.s.SetSeed(E, &seed); err != nil {
			return nil, err
		}
		all, err := t.installationsOf(next.Members)
		if err != nil {
			return nil, err
		}
		// Installations of accounts added now get the seed in their Welcome.
		var existing []InstallationRecord
		for _, in := range all {
			if !slices.Contains(newcomers, in.Account) {
				existing = append(existing, in)
			}
		}
		kb := epoch.KeyBlock{Kind: epoch.KindMembership, Author: epoch.Installation(c.acct.inst), Event: E, Prev: prev}
		slots, _, err := t.buildKeySlots(g, &kb, &seed, existing)
		if err != nil {
			return nil, err
		}
		if frames, err = packKeyFrames(kb, slots, msg, c.frameLimit); err != nil {
			return nil, err
		}
		vc.m.Covered[E.String()] = newCoverage(E, c.acct.inst, all, newcomers)
		c.log.Debug("membership key event authored", "group", g.ID.String()[:8], "event", shortID(E), "prev", shortIDs(prev),
			"outer", shortID(vc.ep.ID), "slots", len(slots), "newcomers", len(newcomers), "gaps", len(gaps))
		if kev.Type == membership.MemberRemoved {
			vc.m.Departs = append(vc.m.Departs, E.String())
		}
		vc.m.Uncovered = nil
		if len(newcomers) > 0 || len(gaps) > 0 {
			j, err := vc.s.JoinFor(E, &seed)
			if err != nil {
				return nil, err
			}
			join = &j
		}
	}
	o, err := t.queueFrames(g, &vc.ep, frames, &id)
	if err != nil {
		return nil, err
	}
	outs = append(outs, o...)
	if err := t.storeSchedule(g, gc, vc.s, vc.m); err != nil {
		return nil, err
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, err
	}
	full, err := t.Group(g.ID)
	if err != nil {
		return nil, err
	}
	if err := t.applyMembership(full, gc, next, nil, true); err != nil {
		return nil, err
	}
	if join != nil {
		w, err := t.welcomeV2(full, &next, newcomers, *join)
		if err != nil {
			return nil, err
		}
		outs = append(outs, w...)
		if w, err = t.welcomeV2To(full, &next, gaps, *join, ""); err != nil {
			return nil, err
		}
		outs = append(outs, w...)
	}
	return outs, nil
}

// welcomeV2 sends a Welcome v2 with join to every installation of the accounts newcomers
// (ours excluded).
func (t *txn) welcomeV2(g *GroupRecord, st *membership.State, newcomers []string, join epoch.Join) ([]*OutboxRecord, error) {
	var ins []*InstallationRecord
	for _, m := range newcomers {
		list, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for i := range list {
			ins = append(ins, &list[i])
		}
	}
	return t.welcomeV2To(g, st, ins, join, "")
}

// welcomeV2To sends a Welcome v2 with join to each unrevoked installation of ins other
// than ours, on topic ("": its account's inbox).
func (t *txn) welcomeV2To(g *GroupRecord, st *membership.State, ins []*InstallationRecord, join epoch.Join, topic string) ([]*OutboxRecord, error) {
	if len(ins) == 0 {
		return nil, nil
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
		SentAt: uint64(t.c.now().UnixMilli()), Join: jb, Membership: g.Events}, cards, t.c.welcomeLimit, max(logBudget, t.c.welcomeLimit))
	if err != nil {
		return nil, err
	}
	return t.sendWelcomesV2(ins, bodies, topic)
}

// sendWelcomesV2 sends the Welcome v2 parts bodies to each unrevoked installation of ins
// other than ours, on topic ("": its account's inbox).
func (t *txn) sendWelcomesV2(ins []*InstallationRecord, bodies [][]byte, topic string) ([]*OutboxRecord, error) {
	var outs []*OutboxRecord
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
func (t *txn) linkRekeyV2(g *GroupRecord, gc *groupCache, welcome []*InstallationRecord, topic string) ([]*OutboxRecord, error) {
	s, m, err := loadV2(g)
	if err != nil {
		return nil, err
	}
	return t.rekeyWelcomeV2(g, gc, s, m, welcome, topic, nil, nil)
}

// rekeyWelcomeV2 rekeys with slots for the membership and welcome, and sends welcome a
// Welcome v2 with the rekey's join (on topic; "": their inbox).
func (t *txn) rekeyWelcomeV2(g *GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta, welcome []*InstallationRecord, topic string,
	msg []byte, id *MessageID) ([]*OutboxRecord, error) {
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
		if n+2+len(card) > budget && (len(cur.DeviceLists) > 0 || len(cur.Membership) > 0) {
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

// createGroupV2 sets up the key schedule of a new group (the creation is its first key
// event). Above fullCreationMax installations it does so in O(N) bytes (spec: protocol, "Key schedule v2", "Welcome v2"): the creation
// events and every member's device list are published once in the group, under the new
// epoch, as membership messages (the first with the events, the others with an empty
// event list), and every member installation gets a Welcome v2 with its join and no log
// or device list (a creation Welcome), whose size does not depend on N.
func (t *txn) createGroupV2(g *GroupRecord, gc *groupCache, st *membership.State, created membership.Event, members []string) ([]*OutboxRecord, error) {
	c := t.c
	E := epoch.ID(created.ID())
	var seed epoch.Seed
	if _, err := io.ReadFull(c.rand, seed[:]); err != nil {
		return nil, err
	}
	s := epoch.NewSchedule(epoch.ID(g.ID))
	if err := s.Apply(epoch.Event{ID: E}); err != nil {
		return nil, err
	}
	if err := s.SetSeed(E, &seed); err != nil {
		return nil, err
	}
	all, err := t.installationsOf(st.Members)
	if err != nil {
		return nil, err
	}
	m := &epochMeta{V: 2, Covered: map[string]*coverage{E.String(): newCoverage(E, c.acct.inst, all, members)}}
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return nil, err
	}
	if err := t.PutGroup(g); err != nil {
		return nil, err
	}
	ins, err := t.installationsOfAccounts(members)
	if err != nil {
		return nil, err
	}
	if len(ins) <= fullCreationMax {
		// A small group: full Welcomes (log and every card), which need no store to join.
		j, err := s.JoinFor(E, &seed)
		if err != nil {
			return nil, err
		}
		return t.welcomeV2(g, st, members, j)
	}
	ep, err := s.Current()
	if err != nil {
		return nil, err
	}
	cards, err := t.contactDeviceLists(st.Members)
	if err != nil {
		return nil, err
	}
	bodies, err := creationBodies(st, cards, c.frameLimit-creationFrameOverhead)
	if err != nil {
		return nil, err
	}
	var outs []*OutboxRecord
	for _, body := range bodies {
		msg, id, err := t.sealMessageV2(g, &ep, wire.ContentMembership, body)
		if err != nil {
			return nil, err
		}
		o, err := t.queueFrames(g, &ep, []*wire.FrameV2{{Message: msg}}, &id)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o...)
	}
	if err := t.PutGroupState(g); err != nil {
		return nil, err
	}
	j, err := s.JoinFor(E, &seed)
	if err != nil {
		return nil, err
	}
	jb, err := j.MarshalBinary()
	if err != nil {
		return nil, err
	}
	body, err := (&wire.WelcomeV2{GroupID: g.ID, ChatID: g.ChatID, Secret: g.Secret, Buckets: g.Buckets,
		SentAt: uint64(c.now().UnixMilli()), Join: jb}).Marshal()
	if err != nil {
		return nil, err
	}
	w, err := t.sendWelcomesV2(ins, [][]byte{body}, "")
	if err != nil {
		return nil, err
	}
	return append(outs, w...), nil
}

// fullCreationMax is the most installations (ours included) a creation welcomes with full
// Welcomes (spec: "Welcome v2"): up to it the quadratic cost is small (≤ 64 cards in all)
// and joining needs no store; above it the creation is O(N).
const fullCreationMax = 8

// creationFrameOverhead is what a v2 frame adds to a membership body: outer layer, frame
// header, message header, tag and signature, group plaintext with its causal history.
const creationFrameOverhead = 1024

// creationBodies encodes the creation's membership messages, each body at most budget
// bytes: the first carries the events (and as many cards as fit), the next ones an empty
// event list and more cards. Every card is sent once.
func creationBodies(st *membership.State, cards [][]byte, budget int) ([][]byte, error) {
	update, err := (&membership.Message{ChatID: st.ChatID, Events: st.Log()}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	empty, err := (&membership.Message{ChatID: st.ChatID}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	cur := wire.Membership{Update: update}
	n := 4 + len(update) + 2
	if n > budget {
		return nil, errors.New("protocol: group creation events too large for one publish")
	}
	var out [][]byte
	flush := func() error {
		b, err := cur.Marshal()
		if err != nil {
			return err
		}
		out = append(out, b)
		cur = wire.Membership{Update: empty}
		n = 4 + len(empty) + 2
		return nil
	}
	for _, card := range cards {
		if n+2+len(card) > budget || len(cur.DeviceLists) == wire.MaxWelcomeItems {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		cur.DeviceLists = append(cur.DeviceLists, card)
		n += 2 + len(card)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// installationsOfAccounts lists the installations we know of accounts.
func (t *txn) installationsOfAccounts(accounts []string) ([]*InstallationRecord, error) {
	var ins []*InstallationRecord
	for _, m := range accounts {
		list, err := t.InstallationsOf(m)
		if err != nil {
			return nil, err
		}
		for i := range list {
			ins = append(ins, &list[i])
		}
	}
	return ins, nil
}

// createdBy reports whether account created the chat chatID (Chorus chat ids end with
// their creator's key string: membership, "Wire").
func createdBy(chatID, account string) bool {
	return len(chatID) == 36+1+len(account) && strings.HasSuffix(chatID, "-"+account)
}

// joiningV2 reports whether gc is a v2 group joined by a creation Welcome whose events
// have not arrived yet: it opens only the creator's creation message (spec: "Welcome v2").
func joiningV2(gc *groupCache) bool { return gc.v2 && len(gc.state.Events) == 0 }

// joinCreationV2 handles a creation Welcome (a join, no log, no device lists): the group
// is stored joining, with the schedule of the join, and its topic synced from before the
// Welcome was sent; it becomes a group once the creator's membership message with the
// creation events opens (joinedV2). A creation Welcome for a group we hold adds nothing.
func (t *txn) joinCreationV2(from string, g *GroupRecord, w *wire.WelcomeV2) error {
	c := t.c
	now := c.now()
	if g != nil {
		return nil
	}
	if !createdBy(w.ChatID, from) || len(w.DeviceLists) > 0 {
		return errors.New("protocol: creation welcome not from the chat's creator")
	}
	j, err := epoch.ParseJoin(w.Join)
	if err != nil {
		return err
	}
	if len(j) != 1 {
		return errors.New("protocol: creation welcome with a join of several events")
	}
	s, err := epoch.NewScheduleFromJoin(epoch.ID(w.GroupID), j)
	if err != nil {
		return err
	}
	g = &GroupRecord{ID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, JoinedAt: now, UpdatedAt: now}
	g.Topic = topics.GroupTopic(w.Secret[:], w.Buckets)
	if err := t.DeleteEpochChains(g.ID, nil); err != nil {
		return err
	}
	if err := t.storeSchedule(g, nil, s, &epochMeta{V: 2}); err != nil {
		return err
	}
	if err := t.PutGroup(g); err != nil {
		return err
	}
	if _, err := t.cacheGroup(g); err != nil {
		return err
	}
	sent := now
	if ms := int64(w.SentAt); ms > 0 && ms < now.UnixMilli() {
		sent = timeFromMillis(ms)
	}
	return t.markJoinSync(g.Topic, sent.Add(-syncMargin))
}

// creationState returns the state a joining group's creation message derives, if it is
// one: a membership message whose events make us a member and apply every event of our
// join's frontier (the creation).
func (t *txn) creationState(g *GroupRecord, gp *wire.GroupPlaintext) (membership.State, [][]byte, bool) {
	c := t.c
	if gp.Type != wire.ContentMembership {
		return membership.State{}, nil, false
	}
	mm, err := wire.ParseMembership(gp.Body)
	if err != nil {
		return membership.State{}, nil, false
	}
	st, _, err := membership.Update(nil, mm.Update, c.acct.id, c.now(), membership.ChorusRules())
	if err != nil || st.ChatID != g.ChatID || !st.IsMember(c.acct.id) {
		return membership.State{}, nil, false
	}
	s, err := loadSchedule(g)
	if err != nil {
		return membership.State{}, nil, false
	}
	for _, f := range s.Frontier() {
		if _, ok := appliedEvent(&st, f); !ok {
			return membership.State{}, nil, false
		}
	}
	return st, mm.DeviceLists, true
}

// joinedV2 finishes joining a group from its creation message (applied by
// acceptGroupMessage): envelopes waiting for it are retried.
func (t *txn) joinedV2(g *GroupRecord, st *membership.State, creator string, lists [][]byte) error {
	t.newKeys = true
	t.emit(&GroupJoined{Group: g.ID, Name: st.Name, Inviter: creator})
	full, err := t.Group(g.ID)
	if err != nil {
		return err
	}
	return t.catchUpSiblingsLists(full, st, lists)
}

// storeMemberCards stores the device lists of a membership message with an empty event
// list (the cards of a creation, "Welcome v2"): each verified list of a current member
// other than us.
func (t *txn) storeMemberCards(gc *groupCache, lists [][]byte) error {
	now := t.c.now()
	st := t.stateOf(gc)
	for _, raw := range lists {
		v, err := verifyDeviceList(raw, now)
		if err != nil || v.Account == t.c.acct.id || !st.IsMember(v.Account) {
			continue
		}
		if err := t.storeDeviceList(v, raw, listFrom{}, now); err != nil {
			return err
		}
	}
	return nil
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
	case errors.Is(err, ErrNotFound):
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
	if w.Join != nil && len(w.Membership) == 0 {
		return t.joinCreationV2(from, g, w) // a creation Welcome (spec: "Welcome v2")
	}
	if gc != nil && joiningV2(gc) {
		// Still joining from a creation Welcome: a Welcome with a log joins afresh.
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
	st, _, err := membership.Update(stored, w.Membership, c.acct.id, now, membership.ChorusRules())
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
			if !st.IsMember(from) || !st.IsMember(c.acct.id) {
				return errors.New("protocol: welcome for a group we are in, not from a member")
			}
			if in, err := t.Installation(inst); err != nil || in.Revoked {
				return errors.New("protocol: welcome for a group we are in, from a revoked installation")
			}
			if err := t.applyMembership(g, gc, st, w.DeviceLists, false); err != nil {
				return err
			}
			return t.mergeJoin(g, gc, w.Join)
		}
		// Re-added after we left or were removed: join afresh below.
	}
	// The log proves we were added (the rules apply only an admin's add); the Welcome may
	// come from any member: the inviter, or the installation that rekeyed for us because
	// our add was concurrent with another key event.
	if st.ChatID != w.ChatID || !st.IsMember(c.acct.id) || !(st.IsMember(from) || from == c.acct.id) {
		return errors.New("protocol: welcome not from a member or not naming us")
	}
	j, err := epoch.ParseJoin(w.Join)
	if err != nil {
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
	g = &GroupRecord{ID: w.GroupID, ChatID: w.ChatID, Secret: w.Secret, Buckets: w.Buckets, JoinedAt: now, UpdatedAt: now}
	g.Topic = topics.GroupTopic(w.Secret[:], w.Buckets)
	setMeta(g, &st)
	if g.Events, err = encodeEvents(&st); err != nil {
		return err
	}
	if err := t.DeleteEpochChains(g.ID, nil); err != nil {
		return err
	}
	m := &epochMeta{V: 2}
	if err := t.storeSchedule(g, nil, s, m); err != nil {
		return err
	}
	if err := t.PutGroup(g); err != nil {
		return err
	}
	if _, err := t.cacheGroup(g); err != nil {
		return err
	}
	sent := now
	if ms := int64(w.SentAt); ms > 0 && ms < now.UnixMilli() {
		sent = timeFromMillis(ms)
	}
	if err := t.markJoinSync(g.Topic, sent.Add(-syncMargin)); err != nil {
		return err
	}
	c.log.Debug("joined by welcome v2", "group", g.ID.String()[:8], "from", from[:8], "frontier", shortIDs(s.Frontier()))
	t.emit(&GroupJoined{Group: g.ID, Name: st.Name, Inviter: from})
	if from != c.acct.id {
		return t.catchUpSiblingsLists(g, &st, w.DeviceLists)
	}
	return nil
}

// openFrameV2 opens a v2 group payload with the live epochs of gc.
func openFrameV2(gc *groupCache, payload []byte) (*wire.FrameV2, epoch.Epoch, bool) {
	if len(gc.live) == 0 {
		return nil, epoch.Epoch{}, false
	}
	pt, ep, err := epoch.OpenOuter(gc.live, gc.topic, payload)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	f, err := wire.ParseFrameV2(pt)
	if err != nil {
		return nil, epoch.Epoch{}, false
	}
	return f, ep, true
}

// signingKey65 returns an installation's signing key uncompressed.
func signingKey65(in *InstallationRecord) ([]byte, error) {
	pub, err := crypto.DecompressPubkey(in.Signing[:])
	if err != nil {
		return nil, err
	}
	return crypto.FromECDSAPub(pub), nil
}

// handleGroupV2 processes a v2 group frame opened under epoch ep (spec: "Processing
// order"): the message first (a membership key event must be applicable before its
// block is looked at), then the key block.
func (t *txn) handleGroupV2(gc *groupCache, f *wire.FrameV2, ep epoch.Epoch) error {
	c := t.c
	g, err := t.GroupState(gc.id)
	if err != nil {
		return err
	}
	var kb *epoch.KeyBlock
	if f.Block != nil {
		if kb, err = epoch.ParseKeyBlock(epoch.ID(g.ID), f.Block); err != nil {
			return errForged
		}
		if kb.Author == epoch.Installation(c.acct.inst) {
			return errOwn
		}
		if joiningV2(gc) && f.Message == nil {
			// Joining from a creation Welcome: key blocks wait for the creation events.
			t.claim = append([]byte("inst"), kb.Author[:]...)
			return errPending
		}
	}
	if f.Message != nil {
		h, err := epoch.ParseMessageHeader(f.Message)
		if err != nil {
			return err
		}
		if kb != nil && kb.Author != h.Installation {
			return errForged
		}
		switch err := t.openGroupMessageV2(g, gc, f.Message, h, ep, kb); {
		case errors.Is(err, ErrNotMember) && kb != nil && kb.Kind == epoch.KindRekey && !joiningV2(gc):
			// A rekey authored concurrently with its author's removal carries its message
			// (a heal's recent events) from an installation no longer a member: the
			// message is not stored, the block is judged by the rekey authority rule
			// (processKeyBlock), as it would be alone.
		case err != nil:
			return err
		}
		if g, err = t.GroupState(gc.id); err != nil {
			return err
		}
	}
	if g.Status != GroupActive || len(g.Schedule) == 0 {
		return nil
	}
	if kb == nil {
		if t.states[g.ID] != nil {
			t.healLater(g.ID) // a leave just applied needs a rekey
		}
		return nil
	}
	if err := t.processKeyBlock(g, gc, kb); err != nil {
		if errors.Is(err, errPending) || errors.Is(err, errForged) {
			return err
		}
		c.log.Debug("key block not applied", "err", err)
	}
	return nil
}

// openGroupMessageV2 opens a v2 message of epoch ep and stores it. With a membership key
// block in the same frame, the message must carry that event, authored by the block's
// author, and applicable; otherwise nothing is stored and the envelope waits (pending).
func (t *txn) openGroupMessageV2(g *GroupRecord, gc *groupCache, msg []byte, h epoch.MessageHeader, ep epoch.Epoch, kb *epoch.KeyBlock) error {
	c := t.c
	inst := InstallationID(h.Installation)
	if inst == c.acct.inst {
		return errOwn
	}
	in, err := t.Installation(inst)
	if errors.Is(err, ErrNotFound) {
		t.claim = append([]byte("inst"), inst[:]...)
		return errPending // a member's device we have not met yet
	}
	if err != nil {
		return err
	}
	joining := joiningV2(gc)
	if in.Revoked || !joining && !gc.isMember(in.Account) {
		return ErrNotMember
	}
	if joining && (kb != nil || !createdBy(g.ChatID, in.Account)) {
		t.claim = append([]byte("inst"), inst[:]...)
		return errPending // joining: only the creator's creation message opens the group
	}
	key, err := signingKey65(in)
	if err != nil {
		return err
	}
	rec, err := t.ReceiverChain(g.ID, ep.ID, inst)
	rc := new(epoch.ReceiverChain)
	switch {
	case errors.Is(err, ErrNotFound):
		rc = epoch.NewReceiverChain(&ep, h.Installation)
		rec = &EpochChainRecord{Group: g.ID, Epoch: ep.ID, Installation: inst}
	case err != nil:
		return err
	default:
		if err := rc.UnmarshalBinary(rec.State); err != nil {
			return err
		}
	}
	pt, err := rc.Open(key, msg)
	if err != nil {
		return err
	}
	gp2, err := wire.ParseGroupPlaintextV2(pt)
	if err != nil {
		return err
	}
	gp := gp2.Common()
	if !validContent(gp.Type, gp.Body) {
		return ErrInvalidContent
	}
	var created membership.State
	var createdLists [][]byte
	if joining {
		var ok bool
		if created, createdLists, ok = t.creationState(g, gp); !ok {
			t.claim = append([]byte("inst"), inst[:]...)
			return errPending // a later message of the creator's: it waits for the creation
		}
	}
	if kb != nil && kb.Kind == epoch.KindMembership {
		if gp.Type != wire.ContentMembership {
			return errForged
		}
		mm, err := wire.ParseMembership(gp.Body)
		if err != nil {
			return errForged
		}
		next, _, err := membership.Update(t.stateOf(gc), mm.Update, c.acct.id, c.now(), membership.ChorusRules())
		if err != nil {
			return errForged
		}
		ev, ok := appliedEvent(&next, kb.Event)
		if !ok {
			t.claim = append([]byte("inst"), inst[:]...)
			return errPending // not applicable yet (a parent missing)
		}
		if ev.From != in.Account {
			return errForged
		}
	}
	if rec.State, err = rc.MarshalBinary(); err != nil {
		return err
	}
	if err := t.PutReceiverChain(rec); err != nil {
		return err
	}
	id := messageIDV2(g.ID, inst, ep.ID, h.Iteration)
	if err := t.acceptGroupMessage(g, gc, in.Account, inst, id, gp, gp2.History...); err != nil {
		return err
	}
	if joining {
		return t.joinedV2(g, &created, in.Account, createdLists)
	}
	return nil
}

// processKeyBlock applies the key event of a block (its membership event, if any,
// applied already) and takes our seed from our slot: at most one slot is tried, the one
// with our hint, on the session with the block's author.
func (t *txn) processKeyBlock(g *GroupRecord, gc *groupCache, kb *epoch.KeyBlock) error {
	c := t.c
	author := InstallationID(kb.Author)
	in, err := t.Installation(author)
	if err != nil {
		return err
	}
	st := t.stateOf(gc)
	if in.Revoked {
		return ErrNotMember
	}
	if !st.IsMember(in.Account) {
		// Authority (spec: "Delivery", engine): a rekey is valid when its author was a
		// member in the causal past of its prev events. An author removed since is
		// accepted only if no prev event is its removal (it was authored concurrently with
		// it: every member applies it, whatever it learnt first; the author lacks the
		// removal's seed, so the resulting frontier stays out of its reach). A membership
		// key event is judged by the membership rules (below).
		if kb.Kind != epoch.KindRekey || !st.WasEverMember(in.Account) {
			return ErrNotMember
		}
		for _, p := range kb.Prev {
			if ev, ok := appliedEvent(st, p); ok && ev.Type == membership.MemberRemoved && slices.Contains(ev.Members, in.Account) {
				return ErrNotMember
			}
		}
	}
	var departs bool
	var removed []string // accounts a removal excludes (its author sends them no slot)
	if kb.Kind == epoch.KindMembership {
		ev, ok := appliedEvent(t.stateOf(gc), kb.Event)
		if !ok {
			return errPending
		}
		if ev.From != in.Account {
			return errForged
		}
		if !prevAgrees(st, ev, kb.Prev, s0Frontier(g)) {
			// The block's prev disagrees with its event's causal past: ignored, with the
			// event that rides in the same publish (TestSecKeyEventPrevChecked).
			return errForged
		}
		departs = ev.Type == membership.MemberRemoved
		if departs {
			removed = ev.Members
		}
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	fresh := false
	switch err := s.Apply(epoch.Event{ID: kb.Event, Prev: kb.Prev}); {
	case err == nil:
		fresh = true
	case errors.Is(err, epoch.ErrDuplicate):
	case errors.Is(err, epoch.ErrFrontierFull):
		return errPending
	default:
		return err
	}
	if fresh {
		var added []string
		if kb.Kind == epoch.KindMembership {
			if ev, ok := appliedEvent(t.stateOf(gc), kb.Event); ok && ev.Type == membership.MembersAdded {
				added = ev.Members
			}
		}
		if !st.IsMember(in.Account) {
			m.Covered[kb.Event.String()] = &coverage{Author: author, Departed: true}
		} else if kb.Parts == 1 {
			cv := &coverage{Author: author, Adds: added}
			for _, sl := range kb.Slots {
				cv.Hints = append(cv.Hints, hex.EncodeToString(sl.Hint[:]))
			}
			m.Covered[kb.Event.String()] = cv
		}
		if departs {
			m.Departs = append(m.Departs, kb.Event.String())
		}
		if kb.Parts == 1 {
			// A departed installation this event sent no seed to is excluded from now on.
			m.Uncovered = slices.DeleteFunc(m.Uncovered, func(u InstallationID) bool {
				_, ok := kb.Find(epoch.SlotHint(kb.Event, epoch.Installation(u)))
				return !ok
			})
		} else if len(removed) > 0 {
			// A removal in several parts: its author sent the removed accounts no slot
			// in any part, so they are excluded too (TestRemovalInPartsNoSpeakerRekey:
			// otherwise the group paid a second rekey per large removal).
			m.Uncovered = slices.DeleteFunc(m.Uncovered, func(u InstallationID) bool {
				in, err := t.Installation(u)
				return err == nil && slices.Contains(removed, in.Account)
			})
		}
	}
	if s.Frontier().Contains(kb.Event) && !s.HasSeed(kb.Event) {
		if sl, ok := kb.Find(epoch.SlotHint(kb.Event, epoch.Installation(c.acct.inst))); ok {
			seed, err := t.openSeedSlot(g, kb, sl, in)
			if err != nil {
				c.log.Debug("key block: our slot does not open", "err", err)
			} else if err := s.SetSeed(kb.Event, &seed); err != nil {
				c.log.Debug("key block: seed refused", "err", err)
			}
		}
	}
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return err
	}
	if err := t.PutGroupState(g); err != nil {
		return err
	}
	c.log.Debug("key block applied", "group", g.ID.String()[:8], "event", shortID(kb.Event), "kind", kb.Kind,
		"author", author.String()[:8], "prev", shortIDs(kb.Prev), "fresh", fresh, "seed", s.HasSeed(kb.Event),
		"frontier", shortIDs(s.Frontier()), "missing", len(s.Missing()))
	t.healLater(g.ID)
	return nil
}

// shortID and shortIDs abbreviate epoch ids in debug logs.
func shortID(id epoch.ID) string { return hex.EncodeToString(id[:4]) }

func shortIDs(ids []epoch.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id)
	}
	return out
}

// s0Frontier returns the frontier of g's stored schedule (nil if it does not load).
func s0Frontier(g *GroupRecord) epoch.Frontier {
	s, err := loadSchedule(g)
	if err != nil {
		return nil
	}
	return s.Frontier()
}

// eventIndex maps the ids of st's kept events to them.
func eventIndex(st *membership.State) map[epoch.ID]*membership.Event {
	byID := make(map[epoch.ID]*membership.Event, len(st.Events))
	for i := range st.Events {
		byID[epoch.ID(st.Events[i].ID())] = &st.Events[i]
	}
	return byID
}

// causalPast returns the ids of the events reachable from parents (parents included).
func causalPast(byID map[epoch.ID]*membership.Event, parents []membership.EventID) map[epoch.ID]bool {
	seen := map[epoch.ID]bool{}
	stack := make([]epoch.ID, 0, len(parents))
	for _, p := range parents {
		stack = append(stack, epoch.ID(p))
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if e, ok := byID[p]; ok {
			for _, q := range e.Parents {
				stack = append(stack, epoch.ID(q))
			}
		}
	}
	return seen
}

// lateJoiners returns the installations of members whose add is not in the causal past of
// a departure the current epoch has not healed yet (m.Uncovered): added concurrently with
// it, they may never learn it (a leave is sealed under an epoch they never held), so they
// stand aside when the designated installation is chosen.
func (t *txn) lateJoiners(st *membership.State, m *epochMeta) ([]*InstallationRecord, error) {
	if len(m.Uncovered) == 0 {
		return nil, nil
	}
	byID := eventIndex(st)
	var pasts []map[epoch.ID]bool
	for _, u := range m.Uncovered {
		in, err := t.Installation(u)
		if err != nil {
			continue
		}
		for i := range st.Events {
			ev := &st.Events[i]
			if ev.Type == membership.MemberRemoved && slices.Contains(ev.Members, in.Account) && len(ev.Parents) > 0 {
				p := causalPast(byID, ev.Parents)
				p[epoch.ID(ev.ID())] = true
				pasts = append(pasts, p)
			}
		}
	}
	if len(pasts) == 0 {
		return nil, nil
	}
	var late []string
	for _, acct := range st.Members {
		known := false
		for i := range st.Events {
			ev := &st.Events[i]
			added := (ev.Type == membership.ChatCreated && ev.From == acct) ||
				(ev.Type == membership.MembersAdded && slices.Contains(ev.Members, acct))
			if added && slices.ContainsFunc(pasts, func(p map[epoch.ID]bool) bool { return p[epoch.ID(ev.ID())] }) {
				known = true
				break
			}
		}
		if !known {
			late = append(late, acct)
		}
	}
	if len(late) == 0 {
		return nil, nil
	}
	ins, err := t.installationsOf(late)
	if err != nil {
		return nil, err
	}
	out := make([]*InstallationRecord, len(ins))
	for i := range ins {
		out[i] = &ins[i]
	}
	return out, nil
}

// prevAgrees checks a membership key event's prev set against the event's causal past
// (spec "Key events"; causal rules only, where events name their parents): every
// membership event prev names is in that past, and every event of our frontier in that
// past is in prev or behind one of them. A prev holding a rekey (not a membership event)
// may supersede more than we can see: only the first part is checked then.
func prevAgrees(st *membership.State, ev membership.Event, prev epoch.Frontier, frontier epoch.Frontier) bool {
	if ev.Type == membership.ChatCreated {
		return len(prev) == 0
	}
	if len(ev.Parents) == 0 {
		return true // Status or v1 rules: no causal past to check against
	}
	byID := eventIndex(st)
	past := func(parents []membership.EventID) map[epoch.ID]bool { return causalPast(byID, parents) }
	mine := past(ev.Parents)
	var behind []map[epoch.ID]bool
	lenient := false
	for _, p := range prev {
		e, ok := byID[p]
		if !ok {
			lenient = true // a rekey, or an event we do not hold
			continue
		}
		if !mine[p] {
			return false
		}
		b := past(e.Parents)
		b[p] = true
		behind = append(behind, b)
	}
	if lenient {
		return true
	}
	for _, k := range frontier {
		if !mine[k] {
			continue
		}
		if !slices.ContainsFunc(behind, func(b map[epoch.ID]bool) bool { return b[k] }) {
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

// runHeals heals the groups healLater named (see healV2).
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
		if err := t.healV2(g, gc); err != nil {
			return err
		}
	}
	return nil
}

// openSeedSlot decrypts our slot of a key block on the session with its author (starting
// it for an initial slot).
func (t *txn) openSeedSlot(g *GroupRecord, kb *epoch.KeyBlock, sl *epoch.Slot, author *InstallationRecord) (epoch.Seed, error) {
	c := t.c
	c.slotTries++
	var s *sess
	var otk *uint32
	var err error
	if sl.Kind == epoch.SlotInitial {
		if s, _, otk, err = t.respond(sl.X3DHHeader, true); err != nil {
			return epoch.Seed{}, err
		}
	} else {
		list, err := t.SessionsWith(author.ID)
		if err != nil {
			return epoch.Seed{}, err
		}
		var opened []byte
		for i := range list { // at most three sessions with one installation
			cand, err := t.loadSession(&list[i])
			if err != nil {
				continue
			}
			ctx := kb.Context(epoch.ID(g.ID))
			if pt, err := t.decryptOn(cand, sl.Message, adSlotV2, ctx[:]); err == nil {
				s, opened = cand, pt
				break
			}
		}
		if s == nil {
			return epoch.Seed{}, errNotForUs
		}
		return t.finishSeedSlot(s, nil, author, opened)
	}
	if s.rec.Remote != author.ID {
		return epoch.Seed{}, errNotForUs
	}
	ctx := kb.Context(epoch.ID(g.ID))
	pt, err := t.decryptOn(s, sl.Message, adSlotV2, ctx[:])
	if err != nil {
		return epoch.Seed{}, err
	}
	return t.finishSeedSlot(s, otk, author, pt)
}

func (t *txn) finishSeedSlot(s *sess, otk *uint32, author *InstallationRecord, pt []byte) (epoch.Seed, error) {
	p, err := epoch.ParseSlotPlaintext(pt)
	if err != nil || p.Kind != epoch.SlotSeed {
		return epoch.Seed{}, fmt.Errorf("protocol: slot plaintext: %w", err)
	}
	if s.rec.ID == 0 {
		s.rec.RemoteAccount = author.Account
		if err := t.adoptResponder(s, otk); err != nil {
			return epoch.Seed{}, err
		}
	} else if err := t.saveSession(s, false); err != nil {
		return epoch.Seed{}, err
	}
	return p.Seed, nil
}

// leaveV2 winds down our key schedule state of a group we are no longer in.
func (t *txn) leaveV2(g *GroupRecord, gc *groupCache) error {
	g.Schedule = nil
	if err := t.DeleteEpochChains(g.ID, nil); err != nil {
		return err
	}
	t.setLive(gc, nil, nil)
	return nil
}

// departV2 records the installations of removed accounts as uncovered: until a key event
// excludes them, the current epoch may be theirs (a leave carries no seed).
func (t *txn) departV2(g *GroupRecord, removed []string) error {
	if len(removed) == 0 || len(g.Schedule) == 0 {
		return nil
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	for _, acct := range removed {
		ins, err := t.InstallationsOf(acct)
		if err != nil {
			return err
		}
		for i := range ins {
			if !slices.Contains(m.Uncovered, ins[i].ID) && reaches(s, m, &ins[i]) {
				m.Uncovered = append(m.Uncovered, ins[i].ID)
			}
		}
	}
	slices.SortFunc(m.Uncovered, func(a, b InstallationID) int { return bytes.Compare(a[:], b[:]) })
	return m.store(g)
}

// epochGapsV2 lists R1 gaps of v2 receiver chains: per (sender, epoch) runs of skipped
// iterations still openable.
func (t *txn) epochGapsV2(g GroupID) ([]epochGap, error) {
	recs, err := t.ReceiverChains(g)
	if err != nil {
		return nil, err
	}
	var out []epochGap
	for _, r := range recs {
		rc := new(epoch.ReceiverChain)
		if rc.UnmarshalBinary(r.State) != nil {
			continue
		}
		for _, gp := range rc.Gaps() {
			out = append(out, epochGap{inst: r.Installation, epoch: r.Epoch, from: gp.From, to: gp.To})
		}
	}
	return out, nil
}

type epochGap struct {
	inst     InstallationID
	epoch    [32]byte
	from, to uint32
}

// knownV2Message reports whether a causal-history entry of installation inst names a
// message we could ever open: one of an epoch we held since joining, at an iteration
// near what we hold of that sender (a bounded search). Entries naming messages of
// epochs before our join are never expected (R1).
func (t *txn) knownV2Message(g *GroupRecord, inst InstallationID, prefix []byte) (bool, error) {
	m, err := loadMeta(g)
	if err != nil {
		return false, err
	}
	for _, hexID := range m.Epochs {
		b, err := hex.DecodeString(hexID)
		if err != nil || len(b) != 32 {
			continue
		}
		eid := epoch.ID(b)
		hi := uint32(HistoryLength + 1)
		if rec, err := t.ReceiverChain(g.ID, eid, inst); err == nil {
			rc := new(epoch.ReceiverChain)
			if rc.UnmarshalBinary(rec.State) == nil {
				hi = rc.Next() + HistoryLength + 1
			}
		}
		lo := uint32(0)
		if hi > PreJoinLookback {
			lo = hi - PreJoinLookback
		}
		for i := lo; i < hi; i++ {
			id := messageIDV2(g.ID, inst, eid, i)
			if bytes.Equal(id[:len(prefix)], prefix) {
				return true, nil
			}
		}
	}
	return false, nil
}

// mayExpectV2 reports whether a causal-history entry may be expected in a v2 group: only
// if it names a message of an epoch we held (never one sent before we joined).
func (t *txn) mayExpectV2(g *GroupRecord, e [32]byte) bool {
	if !isV2(g) {
		return true
	}
	ok, err := t.knownV2Message(g, InstallationID(e[:16]), e[16:])
	return err == nil && ok
}

// reportGapsV2 reports the iteration gaps of a v2 group's receiver chains once each (R1
// per sender and epoch; KeyID carries the first 8 bytes of the epoch id).
func (t *txn) reportGapsV2(g *GroupRecord, now time.Time) error {
	if !isV2(g) {
		return nil
	}
	gaps, err := t.epochGapsV2(g.ID)
	if err != nil {
		return err
	}
	for _, gp := range gaps {
		key := fmt.Sprintf("gap2/%s/%s/%x/%d/%d", g.ID, gp.inst, gp.epoch[:], gp.from, gp.to)
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
		ev := &MessageMissing{Group: g.ID, SenderInstallation: gp.inst, From: gp.from, To: gp.to}
		copy(ev.KeyID[:], gp.epoch[:8])
		if in, err := t.Installation(gp.inst); err == nil {
			ev.SenderAccount = in.Account
		}
		t.emit(ev)
	}
	return nil
}

// releaseEpochLeases lowers the leases of the v2 sending chains this process used to the
// iterations actually used (see releaseLeases).
func releaseEpochLeases(t *txn, chains map[[32]byte]GroupID) error {
	for eid, gid := range chains {
		rec, err := t.SenderChain(gid, eid)
		if err != nil {
			continue
		}
		var sc epoch.SenderChain
		if sc.UnmarshalBinary(rec.State) != nil || sc.Iteration() >= rec.Lease {
			continue
		}
		rec.Lease = sc.Iteration()
		if err := t.PutSenderChain(rec); err != nil {
			return err
		}
	}
	return nil
}

// revokedV2 records revoked installations of a member as departed from a v2 group (see
// departV2) and heals at once if we are the designated installation.
func (t *txn) revokedV2(g *GroupRecord, gc *groupCache, revoked []InstallationID) error {
	if len(revoked) == 0 || len(g.Schedule) == 0 || gc == nil {
		return nil
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	changed := false
	for _, id := range revoked {
		in, err := t.Installation(id)
		if err != nil {
			return err
		}
		if !slices.Contains(m.Uncovered, id) && reaches(s, m, in) {
			m.Uncovered = append(m.Uncovered, id)
		}
		// A frontier event the revoked installation authored (concurrently with its
		// revocation, applied here before it) was sealed under an epoch that installations
		// brought in since may never have held, and its Welcomes to them come from an
		// installation they now refuse: it counts as reaching no one but its author, so
		// the next rekey welcomes everyone to a frontier past it (without this, a sibling
		// that revoked it can stay on an epoch of its own; TestRecoverAndRevokeLostHolder).
		for _, f := range s.Frontier() {
			if cv, ok := m.Covered[f.String()]; ok && cv.Author == id && !cv.Departed {
				cv.Departed = true
				changed = true
			}
		}
	}
	if len(m.Uncovered) == 0 && !changed {
		return nil
	}
	if err := m.store(g); err != nil {
		return err
	}
	if err := t.PutGroupState(g); err != nil {
		return err
	}
	t.healLater(g.ID)
	return nil
}

// mergeJoin applies a join received by a member of the group into its schedule: the
// entries' events with their prev sets, their seeds and contributions. Departures the
// join's rekey excluded are healed by it.
func (t *txn) mergeJoin(g *GroupRecord, gc *groupCache, raw []byte) error {
	j, err := epoch.ParseJoin(raw)
	if err != nil {
		return err
	}
	s, m, err := loadV2(g)
	if err != nil {
		return err
	}
	for _, e := range j {
		if err := s.Apply(epoch.Event{ID: e.Event, Prev: e.Prev}); err != nil && !errors.Is(err, epoch.ErrDuplicate) {
			return err
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
	}
	t.c.log.Debug("join merged", "group", g.ID.String()[:8], "join", shortIDs(f), "frontier", shortIDs(s.Frontier()),
		"missing", len(s.Missing()))
	if err := t.storeSchedule(g, gc, s, m); err != nil {
		return err
	}
	if err := t.PutGroupState(g); err != nil {
		return err
	}
	t.healLater(g.ID)
	return nil
}

// reaches reports whether a departed installation may hold the current epoch: every
// frontier event's seed reached it (as far as we know). One event that missed it keeps
// the epoch out of its reach (its contribution is needed), so no rekey is due for it.
func reaches(s *epoch.Schedule, m *epochMeta, in *InstallationRecord) bool {
	for _, id := range s.Frontier() {
		if cv, ok := m.Covered[id.String()]; ok && !cv.covers(id, in) {
			return false
		}
	}
	return true
}

// healEvents and healEventBytes bound the latest applied membership events a healing
// rekey repeats (the newest one always).
const (
	healEvents     = 16
	healEventBytes = 16 << 10
)

// recentEventsBody encodes a membership content body with the latest applied events of st,
// no cards.
func (t *txn) recentEventsBody(st *membership.State) ([]byte, error) {
	var evs []membership.Event
	size := 0
	for i := len(st.Events) - 1; i >= 0 && len(evs) < healEvents; i-- {
		if size += len(st.Events[i].Raw) + len(st.Events[i].Payload); size > healEventBytes && len(evs) > 0 {
			break
		}
		evs = append(evs, st.Events[i])
	}
	slices.Reverse(evs)
	update, err := (&membership.Message{ChatID: st.ChatID, Events: evs}).MarshalBinary()
	if err != nil {
		return nil, err
	}
	return (&wire.Membership{Update: update}).Marshal()
}
