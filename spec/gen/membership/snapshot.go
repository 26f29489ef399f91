package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	m "github.com/chorus-im/chorus/membership"
)

// Snapshot vectors (spec/README.md, membership › Snapshots): a based state's encoding and
// what later events do to it. Written to membership_snapshot.json.

type snapVec struct {
	Description string     `json:"description"`
	Cases       []snapCase `json:"cases"`
}

type snapCase struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Expect      string      `json:"expect"`
	ChatID      string      `json:"chat_id"`
	NowMs       uint64      `json:"now_ms"`       // the receiver's clock
	SnapshotHex string      `json:"snapshot_hex"` // MarshalSnapshot of the base alone
	Later       []snapEvent `json:"later"`        // delivered after, in this order
	Members     []string    `json:"members"`      // after the later events (account names)
	Admins      []string    `json:"admins"`
	Name2       string      `json:"group_name"`
	Pending     []string    `json:"pending"` // labels
}

type snapEvent struct {
	Label  string `json:"label"`
	RawHex string `json:"raw_hex"`
}

func writeSnapshotVectors(dir string) error {
	chat := chatID("snapshot")
	sign := func(author string, e m.Event, parents ...m.Event) (m.Event, error) {
		for _, p := range parents {
			e.Parents = append(e.Parents, p.ID())
		}
		return m.SignEvent(actors[author].key, chat, e)
	}
	g, err := sign("alice", m.Event{Type: m.ChatCreated, Clock: t0, Name: "Group", Color: "#fa6565", Version: m.RulesCausal})
	if err != nil {
		return err
	}
	add, err := sign("alice", ma(t0+1, "bob", "carol"), g)
	if err != nil {
		return err
	}
	promote, err := sign("alice", aa(t0+2, "bob"), add)
	if err != nil {
		return err
	}
	addDave, err := sign("bob", ma(t0+3, "dave"), promote)
	if err != nil {
		return err
	}
	st, err := m.Derive(chat, []m.Event{g, add, promote, addDave}, m.ChorusRules())
	if err != nil {
		return err
	}
	base, err := m.SnapshotOf(&st, []m.Event{addDave})
	if err != nil {
		return err
	}
	enc, err := base.MarshalSnapshot()
	if err != nil {
		return err
	}
	rename, err := sign("bob", nc(t0+4, "Renamed"), addDave)
	if err != nil {
		return err
	}
	kick, err := sign("alice", mr(t0+5, "carol"), rename)
	if err != nil {
		return err
	}
	concurrent, err := sign("alice", nc(t0+6, "Concurrent"), promote) // does not descend from the snapshot's head
	if err != nil {
		return err
	}
	f := snapVec{Description: "Based states (membership › Snapshots): snapshot_hex is a snapshot of chat_id (alice created it, added bob and carol, promoted bob; bob added dave: that add is the one carried event and head). The later events are delivered in order (one Update each, receiver dave); members, admins, group_name and pending are the state after them: events descending from the head apply, one concurrent with the snapshot waits.",
		Cases: []snapCase{{Name: "snapshot_extend", Description: "bob renames, alice removes carol (both descend from the head); alice's rename naming the promotion (concurrent with bob's add of dave) waits.",
			Expect: "success", ChatID: chat, NowMs: nowMs, SnapshotHex: hex.EncodeToString(enc),
			Later:   []snapEvent{{"rename", hex.EncodeToString(rename.Raw())}, {"kick", hex.EncodeToString(kick.Raw())}, {"concurrent", hex.EncodeToString(concurrent.Raw())}},
			Members: []string{"alice", "bob", "dave"}, Admins: []string{"alice", "bob"}, Name2: "Renamed", Pending: []string{"concurrent"}}}}
	// Check what the vector claims with the package itself.
	got, err := m.ParseSnapshot(chat, enc)
	if err != nil {
		return err
	}
	for _, e := range []m.Event{rename, kick, concurrent} {
		msg, err := (&m.Message{ChatID: chat, Events: []m.Event{e}}).MarshalBinary()
		if err != nil {
			return err
		}
		if got, _, err = m.Update(&got, msg, actors["dave"].pub, time.UnixMilli(int64(nowMs)), m.ChorusRules()); err != nil {
			return err
		}
	}
	if fmt.Sprint(got.Members) != fmt.Sprint(keys("alice", "bob", "dave")) || got.Name != "Renamed" || len(got.Pending) != 1 {
		return fmt.Errorf("snapshot vector: unexpected state %v %q %d pending", got.Members, got.Name, len(got.Pending))
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	e.SetIndent("", " ")
	if err := e.Encode(f); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "membership_snapshot.json"), buf.Bytes(), 0o644)
}
