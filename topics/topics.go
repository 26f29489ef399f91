// Package topics derives the Waku topics Chorus publishes on: the pubsub topic (static
// shard) and the content topics of inboxes, installation announcements and groups.
//
// Content topics follow 23/WAKU2-TOPICS: /chorus/1/<name>/proto. Names derived from keys
// or secrets never expose them: a group topic comes from the group secret through a
// labelled HKDF (PRIV1), inbox and announcement topics are partitions shared by many
// accounts (PRIV2). The derivations are pure functions; spec/README.md (## topics) is
// normative and spec/vectors/topics.json holds the conformance vectors.
package topics

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Specification constants.
const (
	// DefaultCluster is the Waku cluster id Chorus uses unless configured otherwise.
	DefaultCluster uint16 = 16
	// DefaultShard is the static shard Chorus uses unless configured otherwise.
	DefaultShard uint16 = 32
	// DefaultPubsubTopic is PubsubTopic(DefaultCluster, DefaultShard).
	DefaultPubsubTopic = "/waku/2/rs/16/32"

	// MaxNameLen is the longest content-topic name accepted.
	MaxNameLen = 64

	// InboxPartitions is the number of inbox topics; every account's inbox is one of them.
	InboxPartitions = 64
	// AnnouncePartitions is the number of announcement topics.
	AnnouncePartitions = 64

	contentPrefix = "/chorus/1/"
	contentSuffix = "/proto"
	pubsubPrefix  = "/waku/2/rs/"
)

// Errors returned by the parsers.
var (
	// ErrInvalidName: a content-topic name is empty, too long or uses a character
	// outside [a-z0-9._-] (or does not start with [a-z0-9]).
	ErrInvalidName = errors.New("topics: invalid content topic name")
	// ErrInvalidContentTopic: the string is not /chorus/1/<name>/proto.
	ErrInvalidContentTopic = errors.New("topics: invalid content topic")
	// ErrInvalidPubsubTopic: the string is not /waku/2/rs/<cluster>/<shard>.
	ErrInvalidPubsubTopic = errors.New("topics: invalid pubsub topic")
)

// ValidName reports whether name may be used in a content topic: 1 to MaxNameLen bytes of
// [a-z0-9._-], starting with [a-z0-9].
func ValidName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen {
		return ErrInvalidName
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return ErrInvalidName
		}
	}
	return nil
}

// ContentTopic returns /chorus/1/<name>/proto. It panics if name is not valid (see
// ValidName): names are chosen by the program, never taken from the network; use
// ValidName first for anything else.
func ContentTopic(name string) string {
	if err := ValidName(name); err != nil {
		panic(fmt.Sprintf("topics: ContentTopic(%q): %v", name, err))
	}
	return contentPrefix + name + contentSuffix
}

// ParseContentTopic returns the name of a content topic /chorus/1/<name>/proto, or an
// error wrapping ErrInvalidContentTopic (and an empty name).
func ParseContentTopic(s string) (string, error) {
	if !strings.HasPrefix(s, contentPrefix) || !strings.HasSuffix(s, contentSuffix) ||
		len(s) < len(contentPrefix)+len(contentSuffix) {
		return "", ErrInvalidContentTopic
	}
	name := s[len(contentPrefix) : len(s)-len(contentSuffix)]
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidContentTopic, err)
	}
	return name, nil
}

// PubsubTopic returns the static-sharding pubsub topic /waku/2/rs/<cluster>/<shard>.
func PubsubTopic(cluster, shard uint16) string {
	return pubsubPrefix + strconv.FormatUint(uint64(cluster), 10) + "/" + strconv.FormatUint(uint64(shard), 10)
}

// ParsePubsubTopic parses /waku/2/rs/<cluster>/<shard> (decimal, no sign, no leading
// zeros, each at most 65535).
func ParsePubsubTopic(s string) (cluster, shard uint16, err error) {
	rest, ok := strings.CutPrefix(s, pubsubPrefix)
	if !ok {
		return 0, 0, ErrInvalidPubsubTopic
	}
	cs, ss, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, ErrInvalidPubsubTopic
	}
	c, ok1 := parseU16(cs)
	sh, ok2 := parseU16(ss)
	if !ok1 || !ok2 {
		return 0, 0, ErrInvalidPubsubTopic
	}
	return c, sh, nil
}

// parseU16 accepts canonical decimal only, so that parse→format is the identity.
func parseU16(s string) (uint16, bool) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, false
	}
	return uint16(v), true
}
