package identity

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/slug"
)

// MaxUsernameLen is the longest username (in characters) a login looks up.
const MaxUsernameLen = 64

// Why a password login was refused, for the audit log. The person logging
// in is told the same thing whatever the reason, except that the right
// password for a disabled user says the user is disabled.
const (
	ReasonMissingOrOversized = "missing_or_oversized"
	ReasonUnknownUser        = "unknown_user"
	ReasonBadPassword        = "bad_password"
	ReasonDisabled           = "user_disabled"
)

// LoginError is a refused password login; Reason is one of the Reason
// constants. It unwraps to an Unauthorized apperr.
type LoginError struct{ Reason string }

func (e *LoginError) Error() string { return "login refused: " + e.Reason }

// Unwrap makes a refused login an apperr.Unauthorized for callers that
// only branch on the kind.
func (e *LoginError) Unwrap() error {
	if e.Reason == ReasonDisabled {
		return apperr.Errorf(apperr.Unauthorized, "this user is disabled: ask a root admin to enable it")
	}
	return apperr.Errorf(apperr.Unauthorized, "wrong username or password")
}

// Login checks a username (matched case-insensitively) and password and
// returns the user. A refusal is a *LoginError; any other error is the
// store failing. An unknown username still costs one bcrypt comparison,
// so timing does not tell which usernames exist. A disabled user is
// refused after the password check, so only its password tells that it is
// disabled.
func (s *Service) Login(ctx context.Context, username, password string) (User, error) {
	if username == "" || password == "" || len(password) > MaxPasswordLen || utf8.RuneCountInString(username) > MaxUsernameLen {
		return User{}, &LoginError{Reason: ReasonMissingOrOversized}
	}
	id := slug.Make(username)
	u, err := s.store.GetUser(ctx, id)
	if err != nil || !strings.EqualFold(u.Username, username) {
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return User{}, fmt.Errorf("load user %s: %w", id, err)
		}
		return User{}, &LoginError{Reason: ReasonUnknownUser}
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return User{}, &LoginError{Reason: ReasonBadPassword}
	}
	if u.DisabledAt != nil {
		return User{}, &LoginError{Reason: ReasonDisabled}
	}
	return u, nil
}

// Unchanged refuses (Unauthorized) unless u, as Login returned it, still
// exists with the same password hash and enabled. A password change or a
// disable ends the sessions that exist when it commits; one that commits
// while a login is between its password check and its new session would
// miss that session, so the login checks again once its session exists.
func (s *Service) Unchanged(ctx context.Context, u User) error {
	now, err := s.store.GetUser(ctx, u.ID)
	if apperr.Is(err, apperr.NotFound) || (err == nil && (now.PasswordHash != u.PasswordHash || now.DisabledAt != nil)) {
		return apperr.Errorf(apperr.Unauthorized, "the user changed during the login")
	}
	if err != nil {
		return fmt.Errorf("load user %s: %w", u.ID, err)
	}
	return nil
}

// newDummyHash is a bcrypt hash of nothing anyone can type, compared
// against when a username does not exist.
func newDummyHash() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), bcrypt.DefaultCost)
	if err != nil {
		return nil
	}
	return h
}
