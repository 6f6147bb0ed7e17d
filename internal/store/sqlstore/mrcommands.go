package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ClaimCommandNote records that delivery acts on a merge request command
// note, in the caller's InTx transaction. It returns the delivery that
// claimed the note first when it was claimed already (then nothing is
// written, and the caller acts on nothing).
func (s *Store) ClaimCommandNote(ctx context.Context, integrationID string, projectID, noteID int64, deliveryID, command string,
	at time.Time) (claimedBy string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := s.queryRow(ctx, tx, `SELECT delivery_id FROM mr_command_notes WHERE integration_id = ? AND project_id = ? AND note_id = ?`,
			integrationID, projectID, noteID).Scan(&claimedBy)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		claimedBy = ""
		_, err = s.exec(ctx, tx, `INSERT INTO mr_command_notes (integration_id, project_id, note_id, delivery_id, command, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, integrationID, projectID, noteID, deliveryID, command, s.t(at))
		return err
	})
	return claimedBy, wrapInternal(err, "claim command note %d", noteID)
}
