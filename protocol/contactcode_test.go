package protocol_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/transport/memory"
)

func contactCodeOf(t testing.TB) (code, account string) {
	t.Helper()
	ctx := context.Background()
	st, err := persistence.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := protocol.New(ctx, st, memory.NewNetwork(memory.Config{}).Join("v"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	acct, err := c.CreateAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if code, err = c.ContactCode(ctx); err != nil {
		t.Fatal(err)
	}
	return code, acct.ID
}

// TestParseContactCode: a contact code parses back to its account and device list; text
// that is not one is an ErrBadContactCode.
func TestParseContactCode(t *testing.T) {
	code, acct := contactCodeOf(t)
	cc, err := protocol.ParseContactCode(" " + code + "\n")
	if err != nil || cc.Account != acct {
		t.Fatalf("parsed %+v, %v; want account %s", cc, err, acct)
	}
	if _, err := devicelist.Verify(cc.DeviceList, time.Now()); err != nil {
		t.Fatalf("device list: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":       "",
		"link code":   protocol.LinkCodePrefix + strings.TrimPrefix(code, protocol.ContactCodePrefix),
		"not base64":  code + "!",
		"truncated":   code[:len(code)-3],
		"no prefix":   strings.TrimPrefix(code, protocol.ContactCodePrefix),
		"bad account": protocol.ContactCodePrefix + "AQ" + strings.Repeat("A", 200),
	} {
		if cc, err := protocol.ParseContactCode(bad); !errors.Is(err, protocol.ErrBadContactCode) || cc != nil {
			t.Errorf("%s: %+v, %v", name, cc, err)
		}
	}
}

// FuzzParseContactCode: no panic; nil with every error; what parses names a valid
// account and carries a device list that parses.
func FuzzParseContactCode(f *testing.F) {
	code, _ := contactCodeOf(f)
	f.Add(code)
	f.Add(protocol.ContactCodePrefix)
	f.Fuzz(func(t *testing.T, s string) {
		cc, err := protocol.ParseContactCode(s)
		if (err == nil) == (cc == nil) {
			t.Fatalf("code %v, err %v", cc != nil, err)
		}
		if err != nil {
			return
		}
		if _, err := devicelist.Parse(cc.DeviceList); err != nil || !strings.HasPrefix(cc.Account, "0x04") {
			t.Fatalf("parsed %q: %v", cc.Account, err)
		}
	})
}
