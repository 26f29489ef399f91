package membership

import (
	"fmt"
	"iter"
	"slices"
)

// Members is an immutable list of member ids (PublicKeyString's form for a key, any other
// string as it was signed): State.Members, Base.Members and Event.Members. The zero value
// is the empty list. It is the API's boundary for member ids: how the list holds them is
// the package's business (issue 16: a large group's ids are most of a client's heap), and
// At renders an id as the string it names.
type Members struct {
	ids []string
}

// MembersOf returns the list of ids, in order (a copy: ids is not retained).
func MembersOf(ids ...string) Members { return Members{ids: cloneStrings(ids)} }

// membersOwn makes ids the list without a copy: ids must not be changed after.
func membersOwn(ids []string) Members { return Members{ids: ids} }

// Len returns the number of ids.
func (l Members) Len() int { return len(l.ids) }

// At returns id i (0 ≤ i < Len).
func (l Members) At(i int) string { return l.ids[i] }

// All returns an iterator over the indices and ids, in order.
func (l Members) All() iter.Seq2[int, string] { return slices.All(l.ids) }

// Contains reports whether id is in the list.
func (l Members) Contains(id string) bool { return slices.Contains(l.ids, id) }

// Index returns the index of id in the list, or -1.
func (l Members) Index(id string) int { return slices.Index(l.ids, id) }

// Strings returns the ids as a new slice (nil when empty).
func (l Members) Strings() []string { return cloneStrings(l.ids) }

// Equal reports whether both lists hold the same ids in the same order.
func (l Members) Equal(o Members) bool { return slices.Equal(l.ids, o.ids) }

// String renders the list as fmt renders a []string.
func (l Members) String() string { return fmt.Sprint(l.ids) }

// Key returns an opaque key of id i: keys are equal when the ids are, and no id is
// rendered (for maps and comparisons in a large group; IDKey gives an id's key).
func (l Members) Key(i int) string { return l.ids[i] }

// IDKey returns the key (Members.Key) of id.
func IDKey(id string) string { return id }
