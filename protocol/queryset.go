package protocol

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/chorus-im/chorus/topics"
)

const labelDecoys = "chorus/v1/sync/decoys"

// decoySeedLocked returns the secret the decoys are drawn from: derived from the
// installation's signing key, so the decoys are stable across syncs and restarts
// (fresh decoys each time would give the real topics away by intersection), or a
// random secret per client while it has no installation key yet.
func (c *Client) decoySeedLocked() []byte {
	if c.acct != nil && c.acct.ident != nil {
		d := c.acct.ident.SigningKey().D.FillBytes(make([]byte, 32))
		seed, err := hkdf.Key(sha256.New, d, nil, labelDecoys, 32)
		if err != nil {
			panic("protocol: " + err.Error())
		}
		return seed
	}
	if c.decoyFallback == nil {
		c.decoyFallback = make([]byte, 32)
		if _, err := io.ReadFull(c.rand, c.decoyFallback); err != nil {
			panic("protocol: randomness: " + err.Error())
		}
	}
	return c.decoyFallback
}

// querySet returns own (the topics we want) with the decoys, sorted.
func (c *Client) querySet(own []string) []string {
	c.mu.Lock()
	seed := c.decoySeedLocked()
	c.mu.Unlock()
	return QuerySet(seed, own, c.opt.buckets)
}

// QuerySet pads own with decoy topics drawn deterministically from seed (spec: ## sync,
// "Query set"): DecoyInboxPartitions inbox and DecoyAnnouncePartitions announcement
// partitions not in own, then decoy group topics (bucket topics when buckets > 0, else
// group-like topics /chorus/1/g-<32 hex>/proto) until the set has at least
// DecoyMinGroups of them and its size is a multiple of QuerySetStep. The result is
// sorted. For a given seed a topic drawn once stays in the set as own grows.
func QuerySet(seed []byte, own []string, buckets uint32) []string {
	set := map[string]bool{}
	for _, t := range own {
		set[t] = true
	}
	n := len(set)
	draw := func(label string, i int) uint64 {
		b, err := hkdf.Key(sha256.New, seed, nil, labelDecoys+"/"+label+"/"+strconv.Itoa(i), 16)
		if err != nil {
			panic("protocol: " + err.Error())
		}
		return binary.BigEndian.Uint64(b)
	}
	partitions := func(prefix string, parts uint64, want int) {
		added := 0
		for i := 0; added < want && i < 64*int(parts); i++ {
			t := topics.ContentTopic(prefix + strconv.FormatUint(draw(prefix, i)%parts, 10))
			if !set[t] {
				set[t] = true
				added++
			}
		}
	}
	partitions("inbox-", topics.InboxPartitions, DecoyInboxPartitions)
	partitions("announce-", topics.AnnouncePartitions, DecoyAnnouncePartitions)
	total := max(QuerySetStep, (n+DecoyInboxPartitions+DecoyAnnouncePartitions+DecoyMinGroups+QuerySetStep-1)/QuerySetStep*QuerySetStep)
	for i := 0; len(set) < total && i < 100*total; i++ {
		var t string
		if buckets > 0 {
			t = topics.ContentTopic(fmt.Sprintf("gb%d-%d", buckets, draw("group", i)%uint64(buckets)))
		} else {
			b, err := hkdf.Key(sha256.New, seed, nil, labelDecoys+"/group/"+strconv.Itoa(i), 16)
			if err != nil {
				panic("protocol: " + err.Error())
			}
			t = topics.ContentTopic("g-" + hex.EncodeToString(b))
		}
		set[t] = true
	}
	// Few buckets: fill with further partitions.
	partitions("inbox-", topics.InboxPartitions, total-len(set))
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}
