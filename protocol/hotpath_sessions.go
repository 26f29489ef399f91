// Pairwise sessions by base key, write-through (hotPath.sessions): a key block's slot that
// carries an X3DH header (the author's session with us not confirmed yet) names its
// session by the initiator and base key on every key event; the view answers that look-up
// without a SELECT. Like the chains' view, a transaction's own reads and writes come first
// (txn.sess), the client's map takes them at commit, a rollback leaves it as it was, and
// Client.reload drops it.

package protocol

import (
	"bytes"
	"slices"

	"github.com/chorus-im/chorus/protocol/storage"
)

// sessionsMax bounds the sessions in view (each with its ratchet state, ≈ 1 KiB or more;
// only sessions looked up by base key enter it: the authors of key blocks whose slot for
// us carries an X3DH header, few per group); beyond it one is evicted at random.
const sessionsMax = 16

// sessKey names a session as SessionByBaseKey looks it up.
type sessKey struct {
	remote InstallationID
	base   [32]byte
}

func copySession(r *storage.SessionRecord) *storage.SessionRecord {
	c := *r
	c.AD, c.InitialHeader = bytes.Clone(r.AD), bytes.Clone(r.InitialHeader)
	c.State, c.HintChain = bytes.Clone(r.State), bytes.Clone(r.HintChain)
	return &c
}

// knownSession returns the session named k as of this transaction, if in view.
func (t *txn) knownSession(k sessKey) (*storage.SessionRecord, bool) {
	if r, ok := t.sess[k]; ok {
		return r, r != nil
	}
	r := t.c.hot.sessions[k]
	return r, r != nil
}

// setSession records r (nil: not in view) as k's session for the rest of the transaction
// and, at commit, for the client.
func (t *txn) setSession(k sessKey, r *storage.SessionRecord) {
	if t.sess == nil {
		t.sess = map[sessKey]*storage.SessionRecord{}
	}
	t.sess[k] = r
	h := &t.c.hot
	t.onCommit(func() {
		if r == nil {
			delete(h.sessions, k)
			return
		}
		if h.sessions == nil {
			h.sessions = map[sessKey]*storage.SessionRecord{}
		}
		if _, ok := h.sessions[k]; !ok && len(h.sessions) >= sessionsMax {
			for old := range h.sessions {
				delete(h.sessions, old)
				break
			}
		}
		h.sessions[k] = r
	})
}

// sessionKeysOf returns the keys under which session id is in view as of this
// transaction.
func (t *txn) sessionKeysOf(id int64) []sessKey {
	var out []sessKey
	for k, r := range t.sess {
		if r != nil && r.ID == id {
			out = append(out, k)
		}
	}
	for k, r := range t.c.hot.sessions {
		if _, mine := t.sess[k]; !mine && r.ID == id {
			out = append(out, k)
		}
	}
	return out
}

// SessionByBaseKey is StoreTx.SessionByBaseKey through the view (a copy: the caller may
// modify it).
func (t *txn) SessionByBaseKey(remote InstallationID, baseKey [32]byte) (*storage.SessionRecord, error) {
	k := sessKey{remote: remote, base: baseKey}
	if r, ok := t.knownSession(k); ok {
		return copySession(r), nil
	}
	r, err := t.StoreTx.SessionByBaseKey(remote, baseKey)
	if err != nil {
		return nil, err
	}
	t.setSession(k, copySession(r))
	return r, nil
}

// PutSession is StoreTx.PutSession, followed by the view: an update of a session in view
// under the same key replaces it; a new session, or one whose key another session holds
// in view or that is in view under another key, leaves those keys out of view (the next
// look-up reads the store).
func (t *txn) PutSession(r *storage.SessionRecord) error {
	inserted := r.ID == 0
	if err := t.StoreTx.PutSession(r); err != nil {
		return err
	}
	k := sessKey{remote: r.Remote, base: r.BaseKey}
	cur, ok := t.knownSession(k)
	stale := slices.DeleteFunc(t.sessionKeysOf(r.ID), func(x sessKey) bool { return x == k })
	for _, x := range stale {
		t.setSession(x, nil)
	}
	switch {
	case inserted || len(stale) > 0 || !ok || cur.ID != r.ID:
		t.setSession(k, nil)
	default:
		v := copySession(r)
		if len(v.HintChain) == 0 {
			v.HintChain = nil // as the store returns it
		}
		v.CreatedAt, v.UpdatedAt = storedTime(r.CreatedAt), storedTime(r.UpdatedAt)
		t.setSession(k, v)
	}
	return nil
}

// DeleteSession is StoreTx.DeleteSession; the session leaves the view.
func (t *txn) DeleteSession(id int64) error {
	if err := t.StoreTx.DeleteSession(id); err != nil {
		return err
	}
	for _, k := range t.sessionKeysOf(id) {
		t.setSession(k, nil)
	}
	return nil
}
