package protocol

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unsafe"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// This file is the engine side of key schedule v2 (spec: protocol, "Key schedule v2
// (epochs)"): the group's epoch.Schedule, sending and receiving chains per epoch, key
// blocks in the publish of the key event, Welcome v2 with its join, and the healing
// rekeys. A group is of the v2 schedule when its record carries EpochMeta.

// adSlotV2 is the Double Ratchet purpose of a v2 rotation slot.
const adSlotV2 byte = 3

// labelMessageIDV2 names v2 message ids.
const labelMessageIDV2 = "chorus/v2/protocol/message-id"

// epochMeta is the engine's bookkeeping of a v2 group's frontier, stored in
// GroupRecord.EpochMeta (epochs_meta_enc.go; as JSON before, which still loads).
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
	// Parts gathers, per frontier event whose key block came in several parts, the slot
	// hints of the parts seen so far; with every part seen it becomes the event's Covered
	// entry (notePart). Until then the event counts as reaching everyone.
	Parts map[string]*partCoverage `json:"p,omitempty"`
	// Uncovered are installations that left (or were removed) and that no applied key
	// event excluded yet: the current epoch may be theirs (spec: "Rekeys after a leave").
	Uncovered []InstallationID `json:"u,omitempty"`
	// Epochs are the ids of the epochs held since we joined, newest last (bounded), for R1.
	Epochs []string `json:"e,omitempty"`
	// Kept are the seeds kept for opening concurrent senders' publishes (see keptSeed).
	Kept []keptSeed `json:"k,omitempty"`
	// Refused are membership key events (hex ids) whose key blocks we refused as
	// uncommitted (an older version's: no field 103) while their membership events
	// applied, and that no key event we applied names yet: the epoch is unhealed until
	// one does, and ours name them as prev (keyEventPrev, epochs_refused.go).
	Refused []string `json:"r,omitempty"`
}

const maxMetaEpochs = 64

// coverage is who holds the seed of one key event (see epochMeta.Covered).
type coverage struct {
	Author InstallationID `json:"a"`
	// Departed: authored by an installation no longer a member (concurrently with its
	// removal): its Welcomes are refused, so it counts as reaching no one but itself, and
	// the installations it misses do not stand aside as designated.
	Departed bool     `json:"x,omitempty"`
	Hints    hintList `json:"hs,omitempty"` // slot hints
	HexHints []string `json:"h,omitempty"`  // slot hints as stored before hintList (hex; read only)
	Adds     []string `json:"n,omitempty"`  // accounts added by the event
	// HintsV3: Hints are version 3 slot hints (epoch.SlotHint, AES-based: the event's
	// block was of version 3); without it they are version 2 hints (epoch.LegacySlotHint,
	// as every entry stored before version 3).
	HintsV3 bool `json:"v3,omitempty"`
	// Outer: the epoch (hex id) the event's publish was sealed under, when it is not the
	// epoch of the event's prev (its author lacked a seed of its prev, or left departed
	// authors' events out: rekeyOuter); empty when it is, or when not known (entries
	// stored before fix 34b, events applied from a Welcome or a catch-up). lackedPrevSeed
	// reads it (spec "A key event its author could not open").
	Outer string `json:"o,omitempty"`
	enc   []byte // the entry's encoding, once encoded or decoded (see appendFields)
}

// partCoverage is the coverage of the parts of one key block seen so far.
type partCoverage struct {
	coverage
	Seen []uint16 `json:"s"` // the part numbers seen
}

// notePart records the slot hints of one part of kb, a key block in several parts by a
// member. Once every part is seen their union is the event's coverage and, as for a block
// in one part, a departed installation none of the parts sent a slot is excluded from now
// on (TestRevocationNoSpeakerRekey: a revocation in parts otherwise left the revoked
// installation uncovered, and every speaker rekeyed before its next message). Entries are
// replaced, never modified (clone shares them). It reports whether m changed.
func (m *epochMeta) notePart(kb *epoch.KeyBlock, author InstallationID, added []string, outer string) bool {
	k := kb.Event.String()
	if _, done := m.Covered[k]; done || kb.Parts < 2 {
		return false
	}
	prev := m.Parts[k]
	if prev != nil && (slices.Contains(prev.Seen, kb.Part) || prev.HintsV3 == kb.LegacyHints) {
		return false // a part seen, or of another block version than the first (its hints differ)
	}
	next := &partCoverage{coverage: coverage{Author: author, Adds: added, HintsV3: !kb.LegacyHints}}
	if prev != nil {
		next.Hints, next.Seen, next.Outer = prev.Hints, slices.Clone(prev.Seen), prev.Outer
	}
	if outer != "" {
		next.Outer = outer
	}
	next.Hints = next.Hints.union(blockHints(kb))
	next.Seen = append(next.Seen, kb.Part)
	if m.Parts == nil {
		m.Parts = map[string]*partCoverage{}
	}
	if len(next.Seen) < int(kb.Parts) {
		m.Parts[k] = next
		return true
	}
	delete(m.Parts, k)
	cv := next.coverage
	m.Covered[k] = &cv
	if len(m.Uncovered) > 0 {
		h := cv.hinter(kb.Event)
		m.Uncovered = slices.DeleteFunc(m.Uncovered, func(u InstallationID) bool {
			return !cv.Hints.has(h.Hint(epoch.Installation(u)))
		})
	}
	return true
}

// covers reports whether installation in holds the seed of event e.
func (cv *coverage) covers(e epoch.ID, in *storage.InstallationRecord) bool {
	return cv.coversID(e, in.ID, in.Account)
}

// coversID is covers for installation id of account.
func (cv *coverage) coversID(e epoch.ID, id InstallationID, account string) bool {
	return cv.coversWith(e, nil, nil, id, account)
}

// coversWith is coversID with the Hinter of cv's hints if h is not nil and the index of
// its hints if x is not nil (one for many installations: the heal check asks for every
// member installation).
func (cv *coverage) coversWith(e epoch.ID, h *epoch.Hinter, x *hintIndex, id InstallationID, account string) bool {
	if id == cv.Author {
		return true
	}
	if cv.Departed {
		return false
	}
	if slices.Contains(cv.Adds, account) {
		return true
	}
	if h == nil {
		hr := cv.hinter(e)
		h = &hr
	}
	if x != nil {
		return x.has(cv.Hints, h.Hint(epoch.Installation(id)))
	}
	return cv.Hints.has(h.Hint(epoch.Installation(id)))
}

// reaches reports whether a departed installation may hold the current epoch: every
// frontier event's seed reached it (as far as we know). One event that missed it keeps
// the epoch out of its reach (its contribution is needed), so no rekey is due for it.
func reaches(s *epoch.Schedule, m *epochMeta, in *storage.InstallationRecord) bool {
	return reachesFrontier(s.Frontier(), m, in)
}

// reachesFrontier is reaches for the events of frontier f.
func reachesFrontier(f epoch.Frontier, m *epochMeta, in *storage.InstallationRecord) bool {
	for _, id := range f {
		if cv, ok := m.Covered[id.String()]; ok && !cv.covers(id, in) {
			return false
		}
	}
	return true
}

func isV2(g *storage.GroupRecord) bool { return len(g.EpochMeta) > 0 }

func loadMeta(g *storage.GroupRecord) (*epochMeta, error) {
	m := &epochMeta{}
	if len(g.EpochMeta) > 0 && g.EpochMeta[0] == metaBinary {
		var err error
		if m, err = decodeMetaBinary(g.EpochMeta); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(g.EpochMeta, m); err != nil { // stored before metaBinary
		return nil, fmt.Errorf("protocol: bad epoch bookkeeping: %v", err)
	}
	if m.V != 2 {
		return nil, fmt.Errorf("protocol: bad epoch bookkeeping: version %d", m.V)
	}
	if m.Covered == nil {
		m.Covered = map[string]*coverage{}
	}
	// A nil entry (JSON null, covNil) is never stored: corrupt (TestReview9EpochMetaNilEntry).
	for _, cv := range m.Covered {
		if cv == nil || !cv.upgradeHints() {
			return nil, errors.New("protocol: bad epoch bookkeeping: slot hints")
		}
	}
	for _, pc := range m.Parts {
		if pc == nil || !pc.upgradeHints() {
			return nil, errors.New("protocol: bad epoch bookkeeping: slot hints")
		}
	}
	return m, nil
}

func (m *epochMeta) store(g *storage.GroupRecord) error {
	b, err := m.encode()
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
	for k := range m.Parts {
		if !in[k] {
			delete(m.Parts, k)
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

// metaMemo is the epoch bookkeeping last stored or decoded for a group, by
// its exact encoding (a large group's coverage holds a hint per installation: decoding it
// for every key event cost more than the key event). Content-addressed, it cannot be
// ahead of the store: a record holding other bytes decodes them.
type metaMemo struct {
	enc []byte // the encoding (not modified: a record's bytes are replaced, never written)
	m   *epochMeta
}

// clone copies m deeply enough for its users to modify the copy (coverage entries are
// never modified, only replaced).
func (m *epochMeta) clone() *epochMeta {
	c := *m
	c.Departs, c.Uncovered, c.Epochs, c.Kept = slices.Clone(m.Departs), slices.Clone(m.Uncovered), slices.Clone(m.Epochs), slices.Clone(m.Kept)
	c.Refused = slices.Clone(m.Refused)
	c.Covered, c.Parts = maps.Clone(m.Covered), maps.Clone(m.Parts)
	if c.Covered == nil {
		c.Covered = map[string]*coverage{}
	}
	return &c
}

// loadV2 is loadV2 through the client's memo of decoded bookkeeping.
func (t *txn) loadV2(g *storage.GroupRecord) (*epoch.Schedule, *epochMeta, error) {
	s, err := t.loadSchedule(g)
	if err != nil {
		return nil, nil, err
	}
	if mm, ok := t.c.metas[g.ID]; ok && bytes.Equal(mm.enc, g.EpochMeta) {
		if unsafe.SliceData(mm.enc) != unsafe.SliceData(g.EpochMeta) {
			mm.enc = g.EpochMeta // the record's (the view's) bytes: one copy live, not two
			t.c.metas[g.ID] = mm
		}
		return s, mm.m.clone(), nil
	}
	m, err := loadMeta(g)
	if err != nil {
		return nil, nil, err
	}
	// The record's bytes, not a copy (issue 16: the group view holds them too); a
	// record's bookkeeping is replaced, never written in place (groupStateView).
	t.c.metas[g.ID] = metaMemo{enc: g.EpochMeta, m: m.clone()}
	return s, m, nil
}

// storeMeta is m.store(g) that remembers the encoding (see metaMemo).
func (t *txn) storeMeta(g *storage.GroupRecord, m *epochMeta) error {
	if err := m.store(g); err != nil {
		return err
	}
	t.c.metas[g.ID] = metaMemo{enc: g.EpochMeta, m: m.clone()}
	return nil
}

// loadV2 decodes a v2 group's schedule and its epoch bookkeeping.
func loadV2(g *storage.GroupRecord) (*epoch.Schedule, *epochMeta, error) {
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
func loadSchedule(g *storage.GroupRecord) (*epoch.Schedule, error) {
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
func (t *txn) storeSchedule(g *storage.GroupRecord, gc *groupCache, s *epoch.Schedule, m *epochMeta) error {
	cur, err := s.Current()
	complete := err == nil
	if err != nil && !errors.Is(err, epoch.ErrIncomplete) {
		return err
	}
	if complete {
		m.noteEpoch(cur.ID)
	}
	m.prune(s.Frontier())
	var st *membership.State
	var lookup func(epoch.ID) (*membership.Event, bool)
	if gc != nil {
		st = t.stateOf(gc)
		var lk func(epoch.ID) (*membership.Event, bool)
		lookup = func(id epoch.ID) (*membership.Event, bool) { // built at its first use only
			if lk == nil {
				lk = t.eventLookup(gc)
			}
			return lk(id)
		}
	}
	m.settleRefused(s, st)
	m.keep(s, keptAuthorOf(st, lookup))
	m.cutOverridden(s, st, lookup)
	if g.Schedule, err = s.MarshalBinary(); err != nil {
		return err
	}
	t.c.scheds[g.ID] = schedMemo{enc: g.Schedule, s: s.Clone()}
	if err := t.storeMeta(g, m); err != nil {
		return err
	}
	live := t.openable(s, m)
	keep := make([][32]byte, len(live))
	for i := range live {
		keep[i] = live[i].ID
	}
	if err := t.retireChains(g.ID, keep); err != nil {
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
//
// The seeds of key events not applied here (refused: keepRefused) are bounded apart, at
// maxRefusedKept, and age with the key event they were made on (boundKept): a refused
// seed never takes the place of an applied event's seed (review 27).
const (
	maxKeptSeeds     = 6
	maxRefusedKept   = 3
	maxCandidateSize = 3
)

// keptSeed is a key event's seed kept for opening concurrent senders' publishes.
type keptSeed struct {
	ID   string   `json:"i"`
	Prev []string `json:"p,omitempty"`
	Seed string   `json:"s"`
}

// keep records the seeds of the frontier events we hold (see keptSeed).
func (m *epochMeta) keep(s *epoch.Schedule, authorOf func(epoch.ID) (string, bool)) {
	for _, id := range s.Frontier() {
		seed, ok := s.Seed(id)
		if !ok {
			continue
		}
		hid := id.String() // once, not once per kept seed compared
		if slices.ContainsFunc(m.Kept, func(k keptSeed) bool { return k.ID == hid }) {
			clear(seed[:])
			continue
		}
		k := keptSeed{ID: hid, Seed: hex.EncodeToString(seed[:])}
		clear(seed[:])
		for _, p := range s.Prev(id) {
			k.Prev = append(k.Prev, p.String())
		}
		m.Kept = append(m.Kept, k)
	}
	m.boundKept(s, authorOf)
}

// setLive installs the live epochs in the cache at commit (a new epoch can open
// envelopes the junk filter remembers: it is cleared, only then — review 6: a member's
// Welcome giving us nothing cleared it, TestSecWelcomeCatchUpNoOp).
func (t *txn) setLive(gc *groupCache, live []epoch.Epoch, cur *epoch.Epoch) {
	c := t.c
	t.onCommit(func() {
		opens := slices.ContainsFunc(live, func(e epoch.Epoch) bool { return !slices.Contains(gc.live, e) })
		gc.live, gc.cur = live, cur
		if opens {
			c.junk.reset()
		}
	})
	t.newKeys = true
}

// cacheEpochs fills a new cache entry's live epochs from the stored schedule.
func cacheEpochs(g *storage.GroupRecord, gc *groupCache) {
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
