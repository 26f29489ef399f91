package protocol

import (
	"context"
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/senderkeys"
	"github.com/chorus-im/chorus/x3dh"
)

// SignDeviceListForTest signs list with the account key (as a holder does).
func SignDeviceListForTest(key *ecdsa.PrivateKey, list *devicelist.List) []byte {
	if err := list.Sign(key); err != nil {
		panic(err)
	}
	b, err := list.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

// BindForTest returns the binding signature of ident to the account key (as the
// installation makes it).
func BindForTest(ident *x3dh.Identity, account *ecdsa.PublicKey) []byte {
	b, err := devicelist.Bind(ident, crypto.FromECDSAPub(account))
	if err != nil {
		panic(err)
	}
	return b
}

// MergeDeviceListForTest verifies a device list and merges it as if it arrived from the network.
func MergeDeviceListForTest(c *Client, raw []byte) error {
	v, err := verifyDeviceList(raw, c.now())
	if err != nil {
		return err
	}
	return c.tx(context.Background(), func(t *txn) error { return t.storeDeviceList(v, raw, listFrom{}, c.now()) })
}

// DeviceListOf returns what c knows of account's device list (id -> revoked) and the device list
// it keeps for the account.
func DeviceListOf(c *Client, account string) (map[InstallationID]bool, []byte) {
	out := map[InstallationID]bool{}
	var list []byte
	err := c.tx(context.Background(), func(t *txn) error {
		ins, err := t.InstallationsOf(account)
		for _, in := range ins {
			out[in.ID] = in.Revoked
		}
		if rec, err := t.Contact(account); err == nil {
			list = rec.DeviceList
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	return out, list
}

// BoundPendingForTest applies the engine's bound on pending membership events.
func BoundPendingForTest(st *membership.State) { boundPending(st) }

// AllAppliedForTest reports whether the engine counts signed as applied in next.
func AllAppliedForTest(next *membership.State, signed []membership.Event) bool {
	return allApplied(next, signed)
}

// WelcomeForTest builds c's (first) Welcome body for group g; tamper flips every chain
// key of the forwarded sender-key states (a lying forwarder).
func WelcomeForTest(c *Client, g GroupID, tamper bool) []byte {
	var body []byte
	err := c.tx(context.Background(), func(t *txn) error {
		gr, gc, err := t.group(g)
		if err != nil {
			return err
		}
		st := gc.state
		bodies, err := t.welcomeBodies(gr, &st)
		if err != nil {
			return err
		}
		w, err := wire.ParseWelcome(bodies[0])
		if err != nil {
			return err
		}
		if tamper {
			for i, raw := range w.Distributions {
				d, err := senderkeys.ParseDistribution(raw)
				if err != nil {
					return err
				}
				d.ChainKey[0] ^= 1
				if w.Distributions[i], err = d.MarshalBinary(); err != nil {
					return err
				}
			}
		}
		body, err = w.Marshal()
		return err
	})
	if err != nil {
		panic(err)
	}
	return body
}

// HandleWelcomeForTest processes a Welcome body as if account from sent it pairwise.
func HandleWelcomeForTest(c *Client, from string, body []byte) error {
	w, err := wire.ParseWelcome(body)
	if err != nil {
		return err
	}
	return c.tx(context.Background(), func(t *txn) error { return t.handleWelcome(from, w) })
}

// LinkTopicForTest is the link topic of a pairing secret.
func LinkTopicForTest(secret [wire.PairingSecretSize]byte) string { return linkTopic(secret) }

// OwnDeviceListForTest returns the device list c keeps as its own account's (as stored).
func OwnDeviceListForTest(c *Client) []byte {
	var out []byte
	err := c.tx(context.Background(), func(t *txn) error {
		rec, err := t.Account()
		if err == nil {
			out = rec.DeviceList
		}
		return err
	})
	if err != nil {
		panic(err)
	}
	return out
}
