DROP INDEX IF EXISTS message_senderTimestamp;
DROP INDEX IF EXISTS message_receiverTimestamp;
DROP TABLE IF EXISTS message;
