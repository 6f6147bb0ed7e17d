package gitlabsim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// controlHandler serves the control API under /-/sim/: JSON in, JSON out,
// authenticated with the admin token. Each route is a thin wrapper over the
// Go API, so a CLI client maps one subcommand to one POST.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	const p = "/-/sim/"
	mux.HandleFunc("GET "+p+"info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"url": s.URL(), "version": Version})
	})
	mux.Handle("POST "+p+"users", jsonRoute(s.CreateUser))
	mux.Handle("POST "+p+"tokens", jsonRoute(s.CreateToken))
	mux.Handle("POST "+p+"tokens/{id}/revoke", idRoute(func(ctx context.Context, id int) (any, error) {
		return map[string]bool{"revoked": true}, s.RevokeToken(ctx, id)
	}))
	mux.Handle("POST "+p+"groups", jsonRoute(func(ctx context.Context, in struct {
		Path string `json:"path"`
	}) (Group, error) {
		return s.CreateGroup(ctx, in.Path)
	}))
	mux.Handle("POST "+p+"projects", jsonRoute(s.CreateProject))
	mux.Handle("POST "+p+"projects/fork", jsonRoute(func(ctx context.Context, in struct {
		Project   string `json:"project"`
		Namespace string `json:"namespace"`
	}) (Project, error) {
		return s.ForkProject(ctx, in.Project, in.Namespace)
	}))
	mux.Handle("POST "+p+"members", jsonRoute(func(ctx context.Context, in MemberOptions) (MemberOptions, error) {
		return in, s.AddMember(ctx, in)
	}))
	mux.Handle("POST "+p+"members/remove", jsonRoute(func(ctx context.Context, in MemberOptions) (map[string]bool, error) {
		return map[string]bool{"removed": true}, s.RemoveMember(ctx, in)
	}))
	mux.HandleFunc("GET "+p+"members", func(w http.ResponseWriter, r *http.Request) {
		ms, err := s.GroupMembers(r.URL.Query().Get("group"))
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, ms)
	})
	mux.Handle("POST "+p+"oauth_apps", jsonRoute(s.CreateOAuthApp))
	mux.Handle("POST "+p+"push", jsonRoute(s.Push))
	mux.Handle("POST "+p+"branches", jsonRoute(func(ctx context.Context, in branchRequest) (PushResult, error) {
		sha, err := s.CreateBranch(ctx, in.Project, in.Branch, in.Ref, in.UserID)
		return PushResult{After: sha}, err
	}))
	mux.Handle("POST "+p+"branches/delete", jsonRoute(func(ctx context.Context, in branchRequest) (branchRequest, error) {
		return in, s.DeleteBranch(ctx, in.Project, in.Branch, in.UserID)
	}))
	mux.Handle("POST "+p+"tags", jsonRoute(func(ctx context.Context, in TagOptions) (map[string]string, error) {
		sha, err := s.CreateTag(ctx, in)
		return map[string]string{"tag": in.Tag, "commit": sha}, err
	}))
	mux.Handle("POST "+p+"tags/delete", jsonRoute(func(ctx context.Context, in TagOptions) (TagOptions, error) {
		return in, s.DeleteTag(ctx, in.Project, in.Tag, in.UserID)
	}))
	s.controlMRRoutes(mux, p)
	mux.Handle("POST "+p+"hooks", jsonRoute(func(ctx context.Context, in struct {
		Project string `json:"project"`
		HookOptions
	}) (Hook, error) {
		return s.AddHook(ctx, in.Project, in.HookOptions)
	}))
	mux.Handle("POST "+p+"hooks/wait", jsonRoute(func(ctx context.Context, _ struct{}) (map[string]bool, error) {
		return map[string]bool{"idle": true}, s.WaitHooks(ctx)
	}))
	mux.HandleFunc("GET "+p+"deliveries", func(w http.ResponseWriter, r *http.Request) {
		hookID, _ := strconv.Atoi(r.URL.Query().Get("hook_id"))
		out := []deliveryJSON{}
		for _, d := range s.Deliveries(hookID) {
			out = append(out, toDeliveryJSON(d))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.Handle("POST "+p+"deliveries/{id}/redeliver", idRoute(func(ctx context.Context, id int) (any, error) {
		d, err := s.Redeliver(ctx, id)
		return toDeliveryJSON(d), err
	}))
	s.controlFaultRoutes(mux, p)
	return s.requireAdmin(mux)
}

type branchRequest struct {
	Project string `json:"project"`
	Branch  string `json:"branch"`
	Ref     string `json:"ref,omitempty"`
	UserID  int    `json:"user_id,omitempty"`
}

type mrRequest struct {
	Project string `json:"project"`
	IID     int    `json:"iid"`
	UserID  int    `json:"user_id,omitempty"`
	MRUpdate
}

// noteRequest comments on a merge request (iid), a commit (sha) or an
// issue (issue_iid).
type noteRequest struct {
	Project  string `json:"project"`
	IID      int    `json:"iid,omitempty"`
	SHA      string `json:"sha,omitempty"`
	IssueIID int    `json:"issue_iid,omitempty"`
	UserID   int    `json:"user_id,omitempty"`
	Body     string `json:"body"`
	SHAGuard string `json:"approve_sha,omitempty"`
}

func (s *Server) controlMRRoutes(mux *http.ServeMux, p string) {
	mux.Handle("POST "+p+"merge_requests", jsonRoute(s.CreateMergeRequest))
	mux.Handle("POST "+p+"notes", jsonRoute(func(ctx context.Context, in noteRequest) (Note, error) {
		switch {
		case in.SHA != "":
			return s.CommentCommit(ctx, in.Project, in.SHA, in.UserID, in.Body)
		case in.IssueIID != 0:
			return s.CommentIssue(ctx, in.Project, in.IssueIID, in.UserID, in.Body)
		}
		return s.CommentMergeRequest(ctx, in.Project, in.IID, in.UserID, in.Body)
	}))
	mux.Handle("POST "+p+"issues", jsonRoute(s.CreateIssue))
	mux.Handle("POST "+p+"merge_requests/approve", jsonRoute(func(ctx context.Context, in noteRequest) (MergeRequest, error) {
		return s.ApproveMergeRequest(ctx, in.Project, in.IID, in.UserID, in.SHAGuard)
	}))
	mux.Handle("POST "+p+"merge_requests/unapprove", jsonRoute(func(ctx context.Context, in noteRequest) (MergeRequest, error) {
		return s.UnapproveMergeRequest(ctx, in.Project, in.IID, in.UserID)
	}))
	mux.Handle("POST "+p+"projects/settings", jsonRoute(func(ctx context.Context, in struct {
		Project string `json:"project"`
		ProjectSettings
	}) (Project, error) {
		return s.SetProjectSettings(ctx, in.Project, in.ProjectSettings)
	}))
	mux.Handle("POST "+p+"merge_requests/update", jsonRoute(func(ctx context.Context, in mrRequest) (MergeRequest, error) {
		in.MRUpdate.UserID = in.UserID
		return s.UpdateMergeRequest(ctx, in.Project, in.IID, in.MRUpdate)
	}))
	for action, fn := range map[string]func(context.Context, string, int, int) (MergeRequest, error){
		"close": s.CloseMergeRequest, "reopen": s.ReopenMergeRequest, "merge": s.MergeMergeRequest,
	} {
		mux.Handle("POST "+p+"merge_requests/"+action, jsonRoute(func(ctx context.Context, in mrRequest) (MergeRequest, error) {
			return fn(ctx, in.Project, in.IID, in.UserID)
		}))
	}
}

// faultJSON is a Fault on the wire, with the latency and trickle as Go
// duration strings ("250ms").
type faultJSON struct {
	ID           int       `json:"id,omitempty"`
	Method       string    `json:"method,omitempty"`
	Path         string    `json:"path,omitempty"`
	PathRegexp   string    `json:"path_regexp,omitempty"`
	Latency      string    `json:"latency,omitempty"`
	Status       int       `json:"status,omitempty"`
	RetryAfter   int       `json:"retry_after,omitempty"`
	Reset        bool      `json:"reset,omitempty"`
	Flood        int64     `json:"flood,omitempty"`
	Trickle      string    `json:"trickle,omitempty"`
	TrickleBytes int       `json:"trickle_bytes,omitempty"`
	Count        int       `json:"count,omitempty"`
	Until        time.Time `json:"until,omitzero"`
	Hits         int       `json:"hits"`
	Cut          int       `json:"cut"`
}

func toFaultJSON(f Fault) faultJSON {
	out := faultJSON{ID: f.ID, Method: f.Method, Path: f.Path, PathRegexp: f.PathRegexp, Status: f.Status,
		RetryAfter: f.RetryAfter, Reset: f.Reset, Flood: f.Flood, TrickleBytes: f.TrickleBytes, Count: f.Count,
		Until: f.Until, Hits: f.Hits, Cut: f.Cut}
	if f.Latency > 0 {
		out.Latency = f.Latency.String()
	}
	if f.Trickle > 0 {
		out.Trickle = f.Trickle.String()
	}
	return out
}

// fromFaultJSON reads a fault rule sent to the control API.
func fromFaultJSON(in faultJSON) (Fault, error) {
	f := Fault{Method: in.Method, Path: in.Path, PathRegexp: in.PathRegexp, Status: in.Status,
		RetryAfter: in.RetryAfter, Reset: in.Reset, Flood: in.Flood, TrickleBytes: in.TrickleBytes, Count: in.Count, Until: in.Until}
	for _, d := range []struct {
		name, in string
		out      *time.Duration
	}{{"latency", in.Latency, &f.Latency}, {"trickle", in.Trickle, &f.Trickle}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return Fault{}, fmt.Errorf("%s %q: %w", d.name, d.in, ErrInvalid)
		}
		*d.out = v
	}
	return f, nil
}

func (s *Server) controlFaultRoutes(mux *http.ServeMux, p string) {
	mux.Handle("POST "+p+"faults", jsonRoute(func(ctx context.Context, in faultJSON) (faultJSON, error) {
		f, err := fromFaultJSON(in)
		if err != nil {
			return faultJSON{}, err
		}
		added, err := s.AddFault(f)
		return toFaultJSON(added), err
	}))
	mux.HandleFunc("GET "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		out := []faultJSON{}
		for _, f := range s.Faults() {
			out = append(out, toFaultJSON(f))
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("DELETE "+p+"faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"calls", func(w http.ResponseWriter, r *http.Request) {
		pattern := r.URL.Query().Get("pattern")
		writeJSON(w, http.StatusOK, map[string]any{"pattern": pattern, "count": s.CallCount(pattern)})
	})
	mux.HandleFunc("DELETE "+p+"calls", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCallCounts()
		w.WriteHeader(http.StatusNoContent)
	})
}

// deliveryJSON is a recorded webhook delivery on the wire.
type deliveryJSON struct {
	ID             int             `json:"id"`
	HookID         int             `json:"hook_id"`
	Event          string          `json:"event"`
	URL            string          `json:"url"`
	RequestHeaders http.Header     `json:"request_headers"`
	RequestBody    json.RawMessage `json:"request_body"`
	IdempotencyKey string          `json:"idempotency_key"`
	EventUUID      string          `json:"event_uuid"`
	WebhookUUID    string          `json:"webhook_uuid"`
	StatusCode     int             `json:"status_code"`
	ResponseBody   string          `json:"response_body"`
	DurationMS     float64         `json:"duration_ms"`
	Error          string          `json:"error,omitempty"`
	At             time.Time       `json:"at"`
}

func toDeliveryJSON(d Delivery) deliveryJSON {
	body := json.RawMessage(d.RequestBody)
	if !json.Valid(body) {
		body, _ = json.Marshal(string(d.RequestBody))
	}
	return deliveryJSON{ID: d.ID, HookID: d.HookID, Event: d.Event, URL: d.URL, RequestHeaders: d.RequestHeaders,
		RequestBody: body, IdempotencyKey: d.IdempotencyKey, EventUUID: d.EventUUID, WebhookUUID: d.WebhookUUID,
		StatusCode: d.StatusCode, ResponseBody: d.ResponseBody, DurationMS: float64(d.Duration) / float64(time.Millisecond),
		Error: d.Err, At: d.At}
}

// jsonRoute decodes the body into In, calls fn and encodes its result.
func jsonRoute[In, Out any](fn func(context.Context, In) (Out, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in In
		b, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err == nil && len(b) > 0 {
			err = json.Unmarshal(b, &in)
		}
		if err != nil {
			writeControlError(w, fmt.Errorf("decode request: %v: %w", err, ErrInvalid))
			return
		}
		out, err := fn(r.Context(), in)
		if err != nil {
			writeControlError(w, err)
			return
		}
		status := http.StatusOK
		if r.Method == http.MethodPost {
			status = http.StatusCreated
		}
		writeJSON(w, status, out)
	})
}

// idRoute passes the {id} path value to fn.
func idRoute(fn func(context.Context, int) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			writeControlError(w, fmt.Errorf("id %q: %w", r.PathValue("id"), ErrInvalid))
			return
		}
		out, err := fn(r.Context(), id)
		if err != nil {
			writeControlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func writeControlError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// requireAdmin accepts the admin token in PRIVATE-TOKEN or as a bearer
// token, compared in constant time.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := tokenFromRequest(r)
		want := s.AdminToken()
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "admin token required"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
