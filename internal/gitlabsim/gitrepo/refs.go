package gitrepo

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Branch is a branch and the commit it points at.
type Branch struct {
	Name string
	SHA  string
}

// Tag is a tag. SHA is the commit it points at (peeled); TargetSHA is what the
// ref holds: the tag object for annotated tags, the commit for lightweight
// ones. Message is empty for lightweight tags.
type Tag struct {
	Name      string
	SHA       string
	TargetSHA string
	Message   string
	Annotated bool
}

// Branches lists all branches sorted by name.
func (r *Repo) Branches(ctx context.Context) ([]Branch, error) {
	out, err := r.git(ctx, "for-each-ref", "--format=%(refname:strip=2)%00%(objectname)", "refs/heads/")
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	var branches []Branch
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, sha, ok := strings.Cut(line, "\x00")
		if ok {
			branches = append(branches, Branch{Name: name, SHA: sha})
		}
	}
	return branches, nil
}

// Branch returns one branch or ErrBranchNotFound.
func (r *Repo) Branch(ctx context.Context, name string) (Branch, error) {
	if err := checkRefName(name); err != nil {
		return Branch{}, fmt.Errorf("branch: %w", err)
	}
	sha, ok, err := r.refValue(ctx, "refs/heads/"+name)
	if err != nil {
		return Branch{}, err
	}
	if !ok {
		return Branch{}, fmt.Errorf("branch %s: %w", name, ErrBranchNotFound)
	}
	return Branch{Name: name, SHA: sha}, nil
}

// CreateBranch creates branch name at the commit ref resolves to. It fails
// with ErrBranchExists when the branch exists and ErrRefNotFound when ref
// does not resolve.
func (r *Repo) CreateBranch(ctx context.Context, name, ref string) (Branch, error) {
	if err := checkRefName(name); err != nil {
		return Branch{}, fmt.Errorf("create branch: %w", err)
	}
	sha, err := r.ResolveRef(ctx, ref)
	if err != nil {
		return Branch{}, fmt.Errorf("create branch %s: %w", name, err)
	}
	if err := r.updateRef(ctx, "refs/heads/"+name, sha, zeroSHA); err != nil {
		if strings.Contains(stderrOf(err), "already exists") {
			return Branch{}, fmt.Errorf("create branch %s: %w", name, ErrBranchExists)
		}
		return Branch{}, fmt.Errorf("create branch %s: %w", name, err)
	}
	return Branch{Name: name, SHA: sha}, nil
}

// DeleteBranch deletes a branch or returns ErrBranchNotFound.
func (r *Repo) DeleteBranch(ctx context.Context, name string) error {
	if err := checkRefName(name); err != nil {
		return fmt.Errorf("delete branch: %w", err)
	}
	return r.deleteRef(ctx, "refs/heads/"+name, ErrBranchNotFound)
}

// Tags lists all tags sorted by name.
func (r *Repo) Tags(ctx context.Context) ([]Tag, error) {
	return r.listTags(ctx, "refs/tags/")
}

// Tag returns one tag or ErrTagNotFound.
func (r *Repo) Tag(ctx context.Context, name string) (Tag, error) {
	if err := checkRefName(name); err != nil {
		return Tag{}, fmt.Errorf("tag: %w", err)
	}
	tags, err := r.listTags(ctx, "refs/tags/"+name)
	if err != nil {
		return Tag{}, err
	}
	// The pattern also matches tags below name/, so pick the exact one.
	for _, t := range tags {
		if t.Name == name {
			return t, nil
		}
	}
	return Tag{}, fmt.Errorf("tag %s: %w", name, ErrTagNotFound)
}

func (r *Repo) listTags(ctx context.Context, pattern string) ([]Tag, error) {
	// Every record ends in a NUL field terminator and then for-each-ref's
	// newline; messages may hold newlines but never NULs.
	const format = "%(refname:strip=2)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(contents)%00"
	out, err := r.git(ctx, "for-each-ref", "--format="+format, pattern)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	fields := strings.Split(string(out), "\x00")
	var tags []Tag
	for i := 0; i+5 <= len(fields); i += 5 {
		t := Tag{
			Name:      strings.TrimPrefix(fields[i], "\n"),
			TargetSHA: fields[i+1],
			SHA:       fields[i+1],
		}
		if fields[i+2] == "tag" {
			t.Annotated = true
			t.SHA = fields[i+3]
			t.Message = fields[i+4]
		}
		tags = append(tags, t)
	}
	return tags, nil
}

// CreateTag creates tag name at the commit ref resolves to: annotated, with
// tagger as its tagger, when message is non-empty, else lightweight. It fails
// with ErrTagExists or ErrRefNotFound.
func (r *Repo) CreateTag(ctx context.Context, name, ref, message string, tagger Signature) (Tag, error) {
	if err := checkRefName(name); err != nil {
		return Tag{}, fmt.Errorf("create tag: %w", err)
	}
	sha, err := r.ResolveRef(ctx, ref)
	if err != nil {
		return Tag{}, fmt.Errorf("create tag %s: %w", name, err)
	}
	if message == "" {
		if err := r.updateRef(ctx, "refs/tags/"+name, sha, zeroSHA); err != nil {
			if strings.Contains(stderrOf(err), "already exists") {
				return Tag{}, fmt.Errorf("create tag %s: %w", name, ErrTagExists)
			}
			return Tag{}, fmt.Errorf("create tag %s: %w", name, err)
		}
		return Tag{Name: name, SHA: sha, TargetSHA: sha}, nil
	}
	env, err := r.signatureEnv("COMMITTER", tagger)
	if err != nil {
		return Tag{}, fmt.Errorf("create tag %s: %w", name, err)
	}
	_, err = r.run(ctx, invocation{
		args:  []string{"tag", "--annotate", "--cleanup=verbatim", "--file=-", "--", name, sha},
		stdin: strings.NewReader(message),
		env:   env,
	})
	if err != nil {
		if strings.Contains(stderrOf(err), "already exists") {
			return Tag{}, fmt.Errorf("create tag %s: %w", name, ErrTagExists)
		}
		return Tag{}, fmt.Errorf("create tag %s: %w", name, err)
	}
	return r.Tag(ctx, name)
}

// DeleteTag deletes a tag or returns ErrTagNotFound.
func (r *Repo) DeleteTag(ctx context.Context, name string) error {
	if err := checkRefName(name); err != nil {
		return fmt.Errorf("delete tag: %w", err)
	}
	return r.deleteRef(ctx, "refs/tags/"+name, ErrTagNotFound)
}

// Signature is an author, committer or tagger. A zero When means the
// repository's clock (see WithClock).
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// signatureEnv renders sig as GIT_<role>_{NAME,EMAIL,DATE}. The date is given
// in git's raw "@unix ±hhmm" form so the zone offset survives exactly.
func (r *Repo) signatureEnv(role string, sig Signature) ([]string, error) {
	if strings.TrimSpace(sig.Name) == "" || strings.ContainsAny(sig.Name+sig.Email, "<>\n\x00") {
		return nil, fmt.Errorf("signature %q <%s>: %w", sig.Name, sig.Email, ErrInvalid)
	}
	when := sig.When
	if when.IsZero() {
		when = r.now()
	}
	return []string{
		"GIT_" + role + "_NAME=" + sig.Name,
		"GIT_" + role + "_EMAIL=" + sig.Email,
		"GIT_" + role + "_DATE=" + fmt.Sprintf("@%d %s", when.Unix(), when.Format("-0700")),
	}, nil
}
