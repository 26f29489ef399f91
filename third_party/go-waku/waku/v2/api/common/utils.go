package common

import "time"

const DefaultStoreQueryTimeout = 30 * time.Second
