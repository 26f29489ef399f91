package protocol

// SealAnnounceForTest seals list as an announcement of the account with public key pub.
func SealAnnounceForTest(c *Client, pub, list []byte) []byte {
	out, err := sealAnnounce(c.rand, pub, list)
	if err != nil {
		panic(err)
	}
	return out
}

// OpenAnnounceForTest opens an announcement of the account with public key pub.
func OpenAnnounceForTest(pub, payload []byte) ([]byte, error) { return openAnnounce(pub, payload) }
