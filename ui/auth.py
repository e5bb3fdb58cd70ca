"""Editor sign-in for the dashboard: single sign-on through Streamlit's OpenID Connect login when
`[auth]` is in the secrets, else a local editor password (only its hash is configured), else read-only.
The rules themselves are in data_access/access.py."""

from __future__ import annotations

import os
import time

import streamlit as st

from data_access.access import (HOW_TO_CONFIGURE, OIDC, PASSWORD, SIGN_INS, AccessConfig, access_config,
                                is_editor_email)

_EDITOR_KEY = "_auth_editor"


def current_access() -> AccessConfig:
    """How editors sign in, from the secrets and the environment (read on every run)."""
    return access_config(_secrets(), os.environ)


def _secrets() -> dict:
    """The secrets as a plain dict; empty when there is no secrets file."""
    try:
        return st.secrets.to_dict()
    except Exception:  # noqa: BLE001 - no secrets file, or one that cannot be read: nothing configured
        return {}


def _user_value(key: str):
    try:
        return st.user.get(key)
    except Exception:  # noqa: BLE001 - no user information outside a browser session
        return None


def editor_name() -> str | None:
    """Who the signed-in editor is (for the import log), or None if this session is not an editor's."""
    config = current_access()
    if config.mode == OIDC:
        email = _user_value("email")
        return email if _user_value("is_logged_in") and is_editor_email(config, email) else None
    if config.mode == PASSWORD:
        return st.session_state.get(_EDITOR_KEY)
    return None


def is_editor() -> bool:
    """True when this session may import and undo."""
    return editor_name() is not None


def auth_sidebar() -> None:
    """The sign-in or sign-out control at the foot of the sidebar."""
    config = current_access()
    with st.sidebar:
        st.divider()
        if config.problem:
            st.caption(config.problem)
        name = editor_name()
        if name:
            st.caption(f"Signed in as an editor: {name}")
            if st.button("Sign out", key="auth_sign_out"):
                sign_out(config)
            return
        if config.mode == OIDC:
            if _user_value("is_logged_in"):
                st.caption(f"Signed in as {_user_value('email') or 'a viewer'}: you can see the dashboard but not "
                           "change its data.")
                if st.button("Sign out", key="auth_sign_out"):
                    sign_out(config)
            elif st.button("Sign in", key="auth_sign_in", help="Editors sign in to load data"):
                _login()
        elif config.mode == PASSWORD:
            with st.expander("Editor sign-in"):
                password_form(config, "sidebar")
        else:
            st.caption("Read-only: editing is not configured (see the README, 'Editing and access').")


def _login() -> None:
    """Start single sign-on; a problem with its setup is one sentence, not a traceback."""
    try:
        st.login()
    except Exception as exc:  # noqa: BLE001 - e.g. Authlib not installed, or an incomplete [auth] section
        st.error(f"Single sign-on could not start: {exc}".splitlines()[0])


def password_form(config: AccessConfig, where: str) -> None:
    """The local editor sign-in form; on success the session becomes an editor's."""
    with st.form(f"auth_form_{where}", clear_on_submit=True):
        name = st.text_input("Your name (for the import log)", key=f"auth_name_{where}", max_chars=80)
        password = st.text_input("Editor password", type="password", key=f"auth_password_{where}")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    st.session_state.pop(f"auth_password_{where}", None)  # the password is not kept in the session
    # wrong passwords are counted for the server process, per source address where known, not per session
    ok, message = SIGN_INS.check_password(config, password, _source_address(), time.monotonic())
    del password
    if ok:
        st.session_state[_EDITOR_KEY] = (name.strip() or "editor") + " (local sign-in)"
        st.rerun()
    st.error(message)


def _source_address() -> str | None:
    """The browser's IP address as the server sees it (None on localhost or where it is not known)."""
    try:
        address = st.context.ip_address
    except Exception:  # noqa: BLE001 - an older Streamlit, or no browser connection
        return None
    return address if isinstance(address, str) and address else None


def sign_out(config: AccessConfig) -> None:
    """End the editor session (and the single sign-on session, if that is how the user signed in)."""
    st.session_state.pop(_EDITOR_KEY, None)
    if config.mode == OIDC:
        st.logout()
    st.rerun()


def require_editor() -> str:
    """The editor's name; for anyone else, say there is no access (and how to get it) and stop the page."""
    name = editor_name()
    if name:
        return name
    config = current_access()
    st.error("**No access.** Only editors can see this page: it loads and removes data.", icon=":material/lock:")
    if config.mode == OIDC:
        if _user_value("is_logged_in"):
            st.write("You are signed in, but your e-mail address is not on the list of editors. Ask the "
                     "dashboard's administrator to add it.")
        else:
            st.write("Sign in with your NHS account to continue.")
            if st.button("Sign in", key="auth_sign_in_page"):
                _login()
    elif config.mode == PASSWORD:
        st.write("Sign in with the editor password to continue.")
        password_form(config, "page")
    else:
        st.info(config.problem or HOW_TO_CONFIGURE)
    st.stop()
    raise RuntimeError("unreachable")  # st.stop() ends the run
