package protocol

import "context"

// SealAnnounceForTest seals card as an announcement of the account with public key pub
// under its announcement secret (nil: the format from before secrets) and returns it
// with its topic.
func SealAnnounceForTest(c *Client, pub, secret, card []byte) ([]byte, string) {
	out, topic, err := sealAnnounce(c.rand, pub, secret, card)
	if err != nil {
		panic(err)
	}
	return out, topic
}

// OpenAnnounceForTest opens an announcement of the account with public key pub under
// secret (nil: the format from before secrets).
func OpenAnnounceForTest(pub, secret, payload []byte) ([]byte, error) {
	return openAnnounce(pub, secret, payload)
}

// AnnounceTopicForTest is the announcement topic of pub under secret.
func AnnounceTopicForTest(pub, secret []byte) string {
	_, topic := announceKeys(pub, secret)
	return topic
}

// AnnounceSecretForTest returns the client's announcement secret (nil if unknown).
func AnnounceSecretForTest(c *Client) []byte {
	var s []byte
	if err := c.tx(context.Background(), func(t *txn) error {
		var err error
		s, err = t.ownAnnounceSecret()
		return err
	}); err != nil {
		panic(err)
	}
	return s
}
