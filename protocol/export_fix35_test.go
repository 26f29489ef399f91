package protocol

import "context"

// PendingClaimedForTest returns the payload bytes of the envelopes c keeps pending that
// claim installation of's (the per-sender bound, MaxPendingBytesPerSender), and c's
// pending envelopes in all.
func PendingClaimedForTest(c, of *Client) (claimed int64, count int) {
	_ = c.tx(context.Background(), func(t *txn) error {
		u, err := t.PendingUsage([32]byte{}, append([]byte("inst"), of.acct.inst[:]...))
		claimed, count = u.ClaimedBytes, u.Count
		return err
	})
	return claimed, count
}
