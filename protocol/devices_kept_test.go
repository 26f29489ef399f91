package protocol_test

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
	"github.com/chorus-im/chorus/x3dh"
)

// TestKeptListSameList pins what the engine does with a copy of the device list it keeps
// (devicelist.Compare == 0; spec: protocol, Multi-device, "Which list is kept"): for a
// contact the copy replaces the kept one (its bundles are the fresher: a bundle refresh
// travels this way), for our own account the stored list stays (a copy without bindings
// does not strip the bindings we keep). The two once used two tie-breaks that differed
// exactly here.
func TestKeptListSameList(t *testing.T) {
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := protocol.New(ctx, st, memory.NewNetwork(memory.Config{}).Join("k"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	own, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.ImportAccount(ctx, own)
	if err != nil {
		t.Fatal(err)
	}
	ident := func() *x3dh.Identity {
		id, err := x3dh.GenerateIdentity(cryptorand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	entryOf := func(id *x3dh.Identity, bound []byte) devicelist.Entry {
		p := id.Public()
		return devicelist.Entry{ID: p.ID, DH: p.DH, Signing: p.Signing, Binding: bound}
	}

	// Our own account: a list at clock 5 listing us and a second installation x (bound).
	stored, err := devicelist.Parse(protocol.OwnDeviceListForTest(c))
	if err != nil || len(stored.Entries) != 1 || stored.Entries[0].ID != me.Installation {
		t.Fatalf("own list %+v, %v", stored, err)
	}
	x := ident()
	self := stored.Entries[0]
	withBinding := protocol.SignDeviceListForTest(own, &devicelist.List{Clock: 5, Entries: []devicelist.Entry{self, entryOf(x, protocol.BindForTest(x, &own.PublicKey))}})
	if err := protocol.MergeDeviceListForTest(c, withBinding); err != nil {
		t.Fatal(err)
	}
	kept := protocol.OwnDeviceListForTest(c)
	if kl, err := devicelist.Parse(kept); err != nil || kl.Clock != 5 || kl.Entries[1].Binding == nil {
		t.Fatalf("own list not taken: %+v, %v", kl, err)
	}
	withoutBinding := protocol.SignDeviceListForTest(own, &devicelist.List{Clock: 5, Entries: []devicelist.Entry{self, entryOf(x, nil)}})
	if err := protocol.MergeDeviceListForTest(c, withoutBinding); err != nil {
		t.Fatal(err)
	}
	if got := protocol.OwnDeviceListForTest(c); !bytes.Equal(got, kept) {
		t.Fatal("a copy of our own list replaced the stored one")
	}

	// A contact: the same list without, then with, then again without a bundle.
	other, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	y := ident()
	spk, err := y.NewSignedPrekey(cryptorand.Reader, 1, time.Now().Add(30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := x3dh.NewBundle(y, spk, nil)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := bundle.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	ye := entryOf(y, protocol.BindForTest(y, &other.PublicKey))
	bare := protocol.SignDeviceListForTest(other, &devicelist.List{Clock: 3, Entries: []devicelist.Entry{ye}})
	fresh := protocol.SignDeviceListForTest(other, &devicelist.List{Clock: 3, Entries: []devicelist.Entry{ye}, Bundles: [][]byte{bb}})
	account := membership.PublicKeyString(&other.PublicKey)
	for i, tc := range []struct {
		list    []byte
		bundles int
	}{{bare, 0}, {fresh, 1}, {bare, 0}} {
		if err := protocol.MergeDeviceListForTest(c, tc.list); err != nil {
			t.Fatal(err)
		}
		_, raw := protocol.DeviceListOf(c, account)
		kl, err := devicelist.Parse(raw)
		if err != nil || len(kl.Bundles) != tc.bundles {
			t.Fatalf("copy %d: kept list with %d bundles (%v), want %d", i, len(kl.Bundles), err, tc.bundles)
		}
	}
}
