package protocol

import (
	"context"
	"errors"
)

// FailedTxForTest runs a transaction of c that fails (rolled back): as a receive that
// ends pending, or any transaction whose work fails.
func FailedTxForTest(c *Client) error {
	return c.tx(context.Background(), func(*txn) error { return errors.New("review5: failed on purpose") })
}
