package protocol

import (
	"slices"
	"strings"
	"unsafe"

	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/storage"
)

// The installations of a group's members, for the checks every key event makes (who a
// frontier event's seed missed): one store query per member account per key event cost
// a large group more than the key event itself. The group's cache entry keeps their ids
// and accounts (20 bytes an installation; the records are read for the few gaps found)
// with the member accounts they were read for and the client's installation generation,
// which every write of an installation record (txn.PutInstallation) and every rolled-back
// transaction that wrote one moves: they are read again after any change, and never hold
// what a failed transaction wrote. A removal keeps the others' entries.

// memberInstalls is the cached list (see above).
type memberInstalls struct {
	gen uint64
	// accounts are the member accounts: the caller's list, shared, not copied (a state's
	// member list is replaced, never changed; a copy was 16 KiB per client in a
	// 1000-member group, issue 16).
	accounts membership.Members
	ids      []InstallationID // their unrevoked installations
	// of is the index in accounts of each one's account; nil when it is its own index
	// (one installation per account, the usual case: issue 16, 4 bytes an installation).
	of []int32
	// revoked and revokedOf are their revoked installations, likewise: with ids they are
	// every installation of the accounts, for a departure (departV2).
	revoked   []InstallationID
	revokedOf []int32
}

// account returns the account of the installation ids[k].
func (mi *memberInstalls) account(k int) string { return mi.accounts.At(int(mi.accountOf(k))) }

// accountKey returns the key (membership.Members.Key) of the account of the installation
// ids[k]: nothing rendered.
func (mi *memberInstalls) accountKey(k int) string { return mi.accounts.Key(int(mi.accountOf(k))) }

// accountOf returns the index in accounts of the account of the installation ids[k].
func (mi *memberInstalls) accountOf(k int) int32 {
	if mi.of == nil {
		return int32(k)
	}
	return mi.of[k]
}

// compact drops of when every installation's account is its own index.
func (mi *memberInstalls) compact() {
	for k, i := range mi.of {
		if i != int32(k) {
			return
		}
	}
	mi.of = nil
}

// PutInstallation stores an installation record and invalidates the cached installation
// lists (now, and again if the transaction fails).
func (t *txn) PutInstallation(in *storage.InstallationRecord) error {
	c := t.c
	c.instGen++
	if !t.instWritten {
		t.instWritten = true
		t.onRollback(func() { c.instGen++ })
	}
	return t.StoreTx.PutInstallation(in)
}

// memberInstallationsOf returns the unrevoked installations we know of the accounts
// (ours included) with their ID and Account only, through gc's cache (see above). The
// caller owns the slice.
func (t *txn) memberInstallationsOf(gc *groupCache, accounts membership.Members) ([]storage.InstallationRecord, error) {
	mi, err := t.memberInstalls(gc, accounts)
	if err != nil {
		return nil, err
	}
	out := make([]storage.InstallationRecord, len(mi.ids))
	for k, id := range mi.ids {
		out[k] = storage.InstallationRecord{ID: id, Account: mi.account(k)}
	}
	return out, nil
}

// memberInstalls returns the cached list of the unrevoked installations of the accounts
// (see above), read again if it does not hold. It is shared: the caller must not modify it.
func (t *txn) memberInstalls(gc *groupCache, accounts membership.Members) (*memberInstalls, error) {
	c := t.c
	mi := c.cachedInstalls(gc, accounts)
	if mi == nil {
		mi = &memberInstalls{gen: c.instGen, accounts: accounts}
		hexes := accounts.Strings()              // rendered on a miss only (issue 16)
		all, err := t.MemberInstallations(hexes) // one query, not one per account
		if err != nil {
			return nil, err
		}
		runs := make(map[string][2]int, accounts.Len()) // each account's installations: all[lo:hi] (by account)
		for lo := 0; lo < len(all); {
			hi := lo + 1
			for hi < len(all) && all[hi].Account == all[lo].Account {
				hi++
			}
			runs[all[lo].Account] = [2]int{lo, hi}
			lo = hi
		}
		for i, a := range hexes {
			r, ok := runs[a]
			if !ok {
				continue
			}
			for _, in := range all[r[0]:r[1]] {
				if !in.Revoked {
					mi.ids, mi.of = append(mi.ids, in.ID), append(mi.of, int32(i))
				} else {
					mi.revoked, mi.revokedOf = append(mi.revoked, in.ID), append(mi.revokedOf, int32(i))
				}
			}
		}
	}
	return c.keepInstalls(gc, mi), nil
}

// cachedInstalls is memberInstalls from gc's cached list alone, without the store: the
// list if it holds for accounts, or for accounts and more (some accounts left: the others'
// entries are kept, if no account is new), else nil.
func (c *Client) cachedInstalls(gc *groupCache, accounts membership.Members) *memberInstalls {
	mi := gc.installs
	switch {
	case mi != nil && mi.gen == c.instGen && mi.accounts.Equal(accounts):
		return mi
	case mi != nil && mi.gen == c.instGen && accounts.Len() < mi.accounts.Len():
		if mi = mi.without(accounts); mi != nil {
			return c.keepInstalls(gc, mi)
		}
	}
	return nil
}

// keepInstalls caches mi, a list memberInstalls built, in gc.
func (c *Client) keepInstalls(gc *groupCache, mi *memberInstalls) *memberInstalls {
	if cap(mi.ids) > len(mi.ids)+len(mi.ids)/8 {
		mi.ids, mi.of = slices.Clone(mi.ids), slices.Clone(mi.of) // kept: no room left from appending
	}
	mi.compact()
	gc.installs = mi
	return mi
}

// without returns mi for accounts, a subset of its accounts (nil if they are not). When
// accounts keep mi's order (a removal from a membership list) no index is built.
func (mi *memberInstalls) without(accounts membership.Members) *memberInstalls {
	if next := mi.withoutInOrder(accounts); next != nil {
		return next
	}
	pos := make([]int32, mi.accounts.Len()) // the index in accounts of each of mi's accounts, or -1
	j := 0
	for i := range pos {
		if j < accounts.Len() && accounts.Key(j) == mi.accounts.Key(i) {
			pos[i] = int32(j)
			j++
		} else {
			pos[i] = -1
		}
	}
	if j < accounts.Len() {
		// Another order: by index.
		idx := make(map[string]int32, accounts.Len())
		for i := range accounts.Len() {
			idx[accounts.Key(i)] = int32(i)
		}
		known := 0 // accounts of the cached list still members
		for i := range pos {
			pos[i] = -1
			if k, ok := idx[mi.accounts.Key(i)]; ok {
				pos[i] = k
				known++
			}
		}
		if known != accounts.Len() {
			return nil
		}
	}
	next := &memberInstalls{gen: mi.gen, accounts: accounts, // shared, as memberInstalls says
		ids: make([]InstallationID, 0, len(mi.ids))}
	var of []int32 // next.of, made once an installation's account is not its own index
	for k, id := range mi.ids {
		if i := pos[mi.accountOf(k)]; i >= 0 {
			if of == nil && i != int32(len(next.ids)) {
				of = make([]int32, len(next.ids), len(mi.ids))
				for j := range of {
					of[j] = int32(j)
				}
			}
			next.ids = append(next.ids, id)
			if of != nil {
				of = append(of, i)
			}
		}
	}
	next.ids, next.of = slices.Clip(next.ids), slices.Clip(of)
	for k, id := range mi.revoked {
		if i := pos[mi.revokedOf[k]]; i >= 0 {
			next.revoked, next.revokedOf = append(next.revoked, id), append(next.revokedOf, i)
		}
	}
	return next
}

// withoutInOrder is without for the usual case, a removal from a group of one unrevoked
// installation per account and none revoked (of nil): the removed accounts' ids are cut
// out in runs, and no index is built (issue 13: the heal check of a key event at 1000
// members built one of 1000 entries and appended 1000 ids one by one). It returns nil
// when the case does not apply or accounts is not mi's accounts in their order.
func (mi *memberInstalls) withoutInOrder(accounts membership.Members) *memberInstalls {
	if mi.of != nil || len(mi.revoked) > 0 || len(mi.ids) != mi.accounts.Len() {
		return nil
	}
	var buf [4]int
	dropped, j := mi.accounts.Dropped(accounts, buf[:0])
	if j != accounts.Len() {
		return nil
	}
	ids := make([]InstallationID, 0, accounts.Len())
	from := 0 // the first id not copied yet
	for _, i := range dropped {
		ids = append(ids, mi.ids[from:i]...)
		from = i + 1
	}
	ids = append(ids, mi.ids[from:]...)
	return &memberInstalls{gen: mi.gen, accounts: accounts, ids: ids}
}

// accountInstallations returns every installation (revoked ones too) of account, with
// ID, Account and Revoked only, from gc's cached list if it holds for the store as it is
// and names account (ok false otherwise: the caller reads the store).
func (t *txn) accountInstallations(gc *groupCache, account string) (ins []storage.InstallationRecord, ok bool) {
	mi := gc.installs
	if mi == nil || mi.gen != t.c.instGen {
		return nil, false
	}
	var i int
	if st := &gc.state; len(gc.members) == mi.accounts.Len() && mi.accounts.Equal(st.Members) {
		// The list the cache's index orders (the usual case): a binary search, where
		// Index compares account with every member's key before it (issue 13: each
		// removal received looked its account up so in a 1000-member list).
		i = gc.members.find(st.Members, account)
	} else {
		i = mi.accounts.Index(account)
	}
	if i < 0 {
		return nil, false
	}
	for k, id := range mi.ids {
		if mi.accountOf(k) == int32(i) {
			ins = append(ins, storage.InstallationRecord{ID: id, Account: account})
		}
	}
	for k, id := range mi.revoked {
		if mi.revokedOf[k] == int32(i) {
			ins = append(ins, storage.InstallationRecord{ID: id, Account: account, Revoked: true})
		}
	}
	return ins, true
}

// memberIndex orders a state's member list: the positions in it of the members, sorted
// by key, searched in O(log n). It is 4 bytes a member (issue 16: a client keeps one per
// group; the map it replaced took 53 bytes a member, a sorted copy of the list 16) and
// holds for the list it was built from only: it is kept beside it (groupCache).
type memberIndex []int32

// has reports whether key is in members, the list idx was built from.
func (idx memberIndex) has(members membership.Members, key string) bool {
	return idx.find(members, key) >= 0
}

// find returns the position of key in members, the list idx was built from, or -1.
func (idx memberIndex) find(members membership.Members, key string) int {
	var buf [66]byte // a key's 65 bytes: no allocation for a lookup
	kb := membership.AppendIDKey(buf[:0], key)
	k := unsafe.String(unsafe.SliceData(kb), len(kb))
	lo, hi := 0, len(idx) // sort.Search by hand: a closure would move buf to the heap
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); members.Key(int(idx[m])) < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(idx) && members.Key(int(idx[lo])) == k {
		return int(idx[lo])
	}
	return -1
}

// memberSet returns the index of st's members.
func memberSet(st *membership.State) memberIndex {
	return indexOf(st.Members)
}

func indexOf(members membership.Members) memberIndex {
	idx := make(memberIndex, members.Len())
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return strings.Compare(members.Key(int(a)), members.Key(int(b))) })
	return idx
}

// membersAfter returns the index of next, a member list that replaces old, whose index
// is idx: a copy adjusted when next is old with some members removed and at most 8
// appended (the usual change), built anew otherwise. Indexes are replaced, never modified.
func membersAfter(idx memberIndex, old, next membership.Members) memberIndex {
	if len(idx) != old.Len() || old.Len() == 0 {
		return indexOf(next)
	}
	var buf [4]int
	dropped, j := old.Dropped(next, buf[:0]) // old's members not in next, by index
	if j == old.Len() && j == next.Len() {
		return idx
	}
	if next.Len()-j > 8 {
		return indexOf(next)
	}
	out := make(memberIndex, 0, next.Len())
	for _, i := range idx {
		// Its position in next: i less the members dropped before it (none dropped at i).
		if k, found := slices.BinarySearch(dropped, int(i)); !found {
			out = append(out, i-int32(k))
		}
	}
	for p := j; p < next.Len(); p++ {
		k, _ := slices.BinarySearchFunc(out, next.Key(p), func(i int32, key string) int { return strings.Compare(next.Key(int(i)), key) })
		out = slices.Insert(out, k, int32(p))
	}
	return out
}
