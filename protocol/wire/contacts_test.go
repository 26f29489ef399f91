package wire

import (
	"bytes"
	"strings"
	"testing"
)

func contactSamples() map[string][]byte {
	sync, err := (&ContactSync{Secret: bytes.Repeat([]byte{5}, AnnounceSecretSize), Contacts: []SyncContact{
		{Account: [AccountKeySize]byte{4, 1}, Added: true, NameClock: 3, Name: "Bob", Secret: bytes.Repeat([]byte{6}, AnnounceSecretSize), DeviceList: []byte("list")},
		{Account: [AccountKeySize]byte{4, 2}, Name: "ünïcode"},
	}}).Marshal()
	if err != nil {
		panic(err)
	}
	padded, err := PadAnnounce([]byte("a device list"))
	if err != nil {
		panic(err)
	}
	return map[string][]byte{
		"contactsync": sync,
		"announcekey": (&AnnounceKey{Secret: [AnnounceSecretSize]byte{1, 2, 3}}).Marshal(),
		"contactcode": (&ContactCode{Secret: [AnnounceSecretSize]byte{7}, Account: [33]byte{3, 1}, Rest: []byte("the rest of a device list")}).Marshal(),
		"announcepad": padded,
	}
}

var contactCodecs = map[string]func([]byte) ([]byte, error){
	"contactsync": rt(ParseContactSync),
	"announcekey": func(b []byte) ([]byte, error) {
		k, err := ParseAnnounceKey(b)
		if err != nil {
			if k != nil {
				panic("non-nil value with error")
			}
			return nil, err
		}
		return k.Marshal(), nil
	},
	"contactcode": func(b []byte) ([]byte, error) {
		c, err := ParseContactCode(b)
		if err != nil {
			if c != nil {
				panic("non-nil value with error")
			}
			return nil, err
		}
		return c.Marshal(), nil
	},
	"announcepad": func(b []byte) ([]byte, error) {
		card, err := UnpadAnnounce(b)
		if err != nil {
			return nil, err
		}
		return PadAnnounce(card)
	},
}

func TestContactFormatsRoundTrip(t *testing.T) {
	s := contactSamples()
	for name, round := range contactCodecs {
		in := s[name]
		out, err := round(in)
		if err != nil || !bytes.Equal(in, out) {
			t.Fatalf("%s: round trip: %v\n in %x\nout %x", name, err, in, out)
		}
		for i := 0; i < len(in); i++ {
			if out, err := round(in[:i]); err == nil && !bytes.Equal(out, in[:i]) {
				t.Fatalf("%s: prefix %d decoded non-canonically", name, i)
			}
		}
		if _, err := round(append(bytes.Clone(in), 0)); err == nil && name != "contactcode" { // a code's device list ends it
			t.Fatalf("%s: trailing byte accepted", name)
		}
	}
	// A bare device list (a contact code of the first version) is not a ContactCode; nor is a
	// code whose key is not a compressed point's encoding.
	if _, err := ParseContactCode(append([]byte{Version}, make([]byte, 100)...)); err == nil {
		t.Fatal("bare device list parsed as a ContactCode")
	}
	bad := bytes.Clone(contactSamples()["contactcode"])
	bad[1+AnnounceSecretSize] = 4
	if _, err := ParseContactCode(bad); err == nil {
		t.Fatal("uncompressed key prefix accepted")
	}
}

func TestContactFormatsReject(t *testing.T) {
	if _, err := (&ContactSync{Contacts: []SyncContact{{Name: strings.Repeat("x", MaxContactName+1)}}}).Marshal(); err == nil {
		t.Fatal("long contact name encoded")
	}
	if _, err := (&ContactSync{Secret: []byte{1}}).Marshal(); err == nil {
		t.Fatal("short secret encoded")
	}
	bad := bytes.Clone(contactSamples()["contactsync"])
	bad[1] = 2 // undefined flag
	if _, err := ParseContactSync(bad); err == nil {
		t.Fatal("undefined sync flag accepted")
	}
	// Undefined entry flag: the first entry's flags follow version, flags, secret, u32, u16, account.
	bad = bytes.Clone(contactSamples()["contactsync"])
	bad[2+AnnounceSecretSize+4+2+AccountKeySize] |= 0x80
	if _, err := ParseContactSync(bad); err == nil {
		t.Fatal("undefined entry flag accepted")
	}
	// Padding: non-zero padding, a bigger bucket than needed, a size not a bucket.
	p, _ := PadAnnounce([]byte("card"))
	p[len(p)-1] = 1
	if _, err := UnpadAnnounce(p); err == nil {
		t.Fatal("non-zero padding accepted")
	}
	big := make([]byte, AnnounceBuckets[1])
	big[3] = 4
	copy(big[4:], "card")
	if _, err := UnpadAnnounce(big); err == nil {
		t.Fatal("a larger bucket than needed accepted")
	}
	if _, err := UnpadAnnounce(make([]byte, 100)); err == nil {
		t.Fatal("a size outside the buckets accepted")
	}
	if _, err := PadAnnounce(make([]byte, AnnounceBuckets[len(AnnounceBuckets)-1])); err == nil {
		t.Fatal("a list larger than every bucket padded")
	}
	// Every padded size is a bucket, whatever the card size within it.
	for _, n := range []int{1, 862, 862 + 15*356, 8188} {
		p, err := PadAnnounce(make([]byte, n))
		if err != nil || len(p) != AnnounceBuckets[0] {
			t.Fatalf("list of %d bytes padded to %d (%v)", n, len(p), err)
		}
	}
	for _, typ := range []PairwiseType{PairwiseContacts, PairwiseAnnounceKey} {
		pm, _ := (&PairwiseMessage{Type: typ, Body: []byte{0}}).Marshal()
		if _, err := ParsePairwiseMessage(pm); err != nil {
			t.Fatalf("pairwise type %d: %v", typ, err)
		}
	}
	pm, _ := (&PairwiseMessage{Type: PairwiseAnnounceKey + 1}).Marshal()
	if _, err := ParsePairwiseMessage(pm); err == nil {
		t.Fatal("undefined pairwise type accepted")
	}
}

func fuzzContact(f *testing.F, name string) {
	round := contactCodecs[name]
	f.Add(contactSamples()[name])
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := round(in)
		if err != nil {
			return
		}
		if !bytes.Equal(in, out) {
			t.Fatalf("%s: decode→encode differs\n in %x\nout %x", name, in, out)
		}
	})
}

func FuzzContactSync(f *testing.F)     { fuzzContact(f, "contactsync") }
func FuzzAnnounceKey(f *testing.F)     { fuzzContact(f, "announcekey") }
func FuzzContactCode(f *testing.F)     { fuzzContact(f, "contactcode") }
func FuzzAnnouncePadding(f *testing.F) { fuzzContact(f, "announcepad") }
