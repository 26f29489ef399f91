// The message path's knowledge of what the store does not hold (issue 16): no pending
// envelope, no expected entry of a group, an installation record unchanged since read,
// the envelopes of our own messages. Like the views of hotpath.go, each follows writes
// and commits, and Client.reload drops it.

package protocol

import (
	"sync"

	"github.com/chorus-im/chorus/protocol/storage"
)

// PutPending is StoreTx.PutPending; the store may hold pending envelopes from now on
// (also if the transaction fails: the flag only ever errs towards a delete).
func (t *txn) PutPending(p *storage.PendingRecord) error {
	t.c.hot.pendingNone = false
	t.c.hot.pendingPuts++
	return t.StoreTx.PutPending(p)
}

// Pending is StoreTx.Pending; an empty answer, once its transaction commits with no
// envelope put since, lets processed envelopes skip deleting their pending record.
func (t *txn) Pending(limit int) ([]storage.PendingRecord, error) {
	list, err := t.StoreTx.Pending(limit)
	if err == nil && len(list) == 0 {
		h, puts := &t.c.hot, t.c.hot.pendingPuts
		t.onCommit(func() {
			if h.pendingPuts == puts {
				h.pendingNone = true
			}
		})
	}
	return list, err
}

// instView is an installation record as read, and the installation generation it was
// read in (see memberInstalls: every write of an installation record, and every
// rolled-back transaction that wrote one, moves the generation).
type instView struct {
	gen uint64
	rec *storage.InstallationRecord
}

// installationView is StoreTx.Installation through a view for the message path: the
// record it returns is shared and must not be modified, and holds only ID, Account, DH,
// Signing, Revoked and UpdatedAt (slimInstallation: no bundle, binding or metadata kept
// in memory). A record read in a transaction that wrote installation records before is
// read in the generation that write moved to, which its rollback moves on: the view
// never serves what a failed transaction wrote.
func (t *txn) installationView(id InstallationID) (*storage.InstallationRecord, error) {
	h := &t.c.hot
	if v, ok := h.insts[id]; ok && v.gen == t.c.instGen {
		return v.rec, nil
	}
	in, err := t.Installation(id)
	if err != nil {
		return nil, err
	}
	if h.insts == nil || len(h.insts) >= keyCacheMax {
		h.insts = map[InstallationID]instView{}
	}
	slim := slimInstallation(in)
	h.insts[id] = instView{gen: t.c.instGen, rec: slim}
	return slim, nil
}

// slimInstallation is the part of an installation record the message path reads.
func slimInstallation(in *storage.InstallationRecord) *storage.InstallationRecord {
	return &storage.InstallationRecord{ID: in.ID, Account: in.Account, DH: in.DH, Signing: in.Signing,
		Revoked: in.Revoked, UpdatedAt: in.UpdatedAt}
}

// Expected is StoreTx.Expected; an empty answer, once its transaction commits with no
// entry put since, lets received messages of the group skip clearing their entry.
func (t *txn) Expected(group GroupID) ([]storage.ExpectedRecord, error) {
	exp, err := t.StoreTx.Expected(group)
	if err == nil && len(exp) == 0 {
		h, puts := &t.c.hot, t.c.hot.expectPuts
		t.onCommit(func() {
			if h.expectPuts != puts {
				return
			}
			if h.expectNone == nil {
				h.expectNone = map[GroupID]bool{}
			}
			h.expectNone[group] = true
		})
	}
	return exp, err
}

// PutExpected is StoreTx.PutExpected; the group may hold expected entries from now on
// (also if the transaction fails).
func (t *txn) PutExpected(e *storage.ExpectedRecord) error {
	delete(t.c.hot.expectNone, e.Group)
	t.c.hot.expectPuts++
	return t.StoreTx.PutExpected(e)
}

// ownSentMax bounds the envelope hashes of our own group messages remembered (their
// copies come back from the network within seconds).
const ownSentMax = 1024

// ownSent is the set of the last ownSentMax envelopes of our group messages published
// (queueMessageFrame), with its own lock: process drops their copies before any work.
type ownSent struct {
	mu   sync.Mutex
	set  map[[32]byte]struct{}
	ring [][32]byte
	pos  int
}

func (o *ownSent) add(h [32]byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.set == nil {
		o.set = make(map[[32]byte]struct{}, ownSentMax)
	}
	if len(o.ring) < ownSentMax {
		o.ring = append(o.ring, h)
	} else {
		delete(o.set, o.ring[o.pos])
		o.ring[o.pos] = h
		o.pos = (o.pos + 1) % ownSentMax
	}
	o.set[h] = struct{}{}
}

func (o *ownSent) has(h [32]byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.set[h]
	return ok
}

// learnEmpty reads, once per process (and after a reload), whether the store holds
// pending envelopes, and expected entries of the groups on topics, so that a catch-up's
// messages skip clearing what does not exist (hotPath.pendingNone, expectNone).
func (t *txn) learnEmpty(topics []string) error {
	h := &t.c.hot
	if h.learned {
		return nil
	}
	t.onCommit(func() { h.learned = true })
	if !h.pendingNone {
		if _, err := t.Pending(1); err != nil {
			return err
		}
	}
	for _, topic := range topics {
		for _, id := range t.c.topics[topic] {
			if !h.expectNone[id] {
				if _, err := t.Expected(id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// pendingNone reports whether the client knows the store holds no pending envelope.
func (c *Client) pendingNone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hot.pendingNone
}

// clearPending deletes the pending record of an envelope just processed, unless the
// store holds none (pendingNone).
func (t *txn) clearPending(hash [32]byte) error {
	if t.c.hot.pendingNone {
		return nil
	}
	return t.DeletePending(hash)
}

// clearExpected deletes a group's expected entry for a message just stored, unless the
// group holds none (expectNone).
func (t *txn) clearExpected(group GroupID, entry [32]byte) error {
	if t.c.hot.expectNone[group] {
		return nil
	}
	return t.DeleteExpected(group, entry)
}

// txnSpares keeps the per-transaction maps of the group state and chain views
// (txn.gs, txn.chains) from one transaction to the next, emptied (issue 16: every
// message's transaction made both, two map allocations of about 0.5 and 1 KiB). Guarded
// by Client.mu, as the transactions using them. A map grown beyond spareMax entries is
// left to the collector.
type txnSpares struct {
	gs     map[GroupID]*storage.GroupRecord
	chains map[chainKey]*storage.EpochChainRecord
}

const spareMax = 64

func (s *txnSpares) takeGS() map[GroupID]*storage.GroupRecord {
	m := s.gs
	s.gs = nil
	if m == nil {
		m = map[GroupID]*storage.GroupRecord{}
	}
	return m
}

func (s *txnSpares) takeChains() map[chainKey]*storage.EpochChainRecord {
	m := s.chains
	s.chains = nil
	if m == nil {
		m = map[chainKey]*storage.EpochChainRecord{}
	}
	return m
}

// keep takes back t's maps once t is over (its after-commit or rollback actions run:
// nothing refers to them any more).
func (s *txnSpares) keep(t *txn) {
	if t.gs != nil && len(t.gs) <= spareMax {
		clear(t.gs)
		s.gs = t.gs
	}
	if t.chains != nil && len(t.chains) <= spareMax {
		clear(t.chains)
		s.chains = t.chains
	}
	t.gs, t.chains = nil, nil
}
