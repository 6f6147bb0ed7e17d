package httpapi

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"io"
	"net/http"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/state"
)

// The managed state, served as OpenTofu's http backend (docs/runs.md):
// GET and POST on the state address, POST (lock) and DELETE (unlock) on
// <address>/lock. Callers authenticate with basic auth: the run id and the
// run's state token, valid while a worker holds the run.

func (a *API) registerStateBackend() {
	a.public("GET /api/v1/state/{stack}", a.stateAuth(a.getState))
	a.public("POST /api/v1/state/{stack}", a.stateAuth(a.putState))
	a.public("POST /api/v1/state/{stack}/lock", a.stateAuth(a.lockState))
	a.public("DELETE /api/v1/state/{stack}/lock", a.stateAuth(a.unlockState))
}

type stateHandler func(w http.ResponseWriter, r *http.Request, g state.Grant) error

func (a *API) stateAuth(h stateHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		user, pass, _ := r.BasicAuth()
		g, err := a.cfg.State.Authorize(r.Context(), r.PathValue("stack"), user, pass)
		if err != nil {
			if apperr.Is(err, apperr.Unauthorized) {
				w.Header().Set("WWW-Authenticate", `Basic realm="hoist-state"`)
			}
			return err
		}
		return h(w, r, g)
	}
}

func (a *API) getState(w http.ResponseWriter, r *http.Request, g state.Grant) error {
	body, err := a.cfg.State.Current(r.Context(), g)
	if err != nil {
		return err
	}
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	sum := md5.Sum(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(body)
	return nil
}

func readStateBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, state.MaxStateBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &tooLargeError{limit: mbe.Limit}
	}
	return body, err
}

func (a *API) putState(w http.ResponseWriter, r *http.Request, g state.Grant) error {
	body, err := readStateBody(w, r)
	if err != nil {
		return err
	}
	if want := r.Header.Get("Content-MD5"); want != "" {
		sum := md5.Sum(body)
		if base64.StdEncoding.EncodeToString(sum[:]) != want {
			return apperr.Errorf(apperr.Invalid, "the state body does not match its Content-MD5")
		}
	}
	if _, err := a.cfg.State.Put(r.Context(), g, r.URL.Query().Get("ID"), body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *API) lockState(w http.ResponseWriter, r *http.Request, g state.Grant) error {
	body, err := readStateBody(w, r)
	if err != nil {
		return err
	}
	_, err = a.cfg.State.Lock(r.Context(), g, body)
	var held *state.HeldError
	if errors.As(err, &held) {
		// OpenTofu reads the holder's lock info from a 423 body.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusLocked)
		_, _ = w.Write(held.Lock.Info)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (a *API) unlockState(w http.ResponseWriter, r *http.Request, g state.Grant) error {
	body, err := readStateBody(w, r)
	if err != nil {
		return err
	}
	if err := a.cfg.State.Unlock(r.Context(), g, body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
