--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: apps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.apps (
    id text NOT NULL COLLATE pg_catalog."C",
    owner_id text COLLATE pg_catalog."C",
    name text NOT NULL,
    platform text DEFAULT ''::text NOT NULL,
    bundle_id text DEFAULT ''::text NOT NULL,
    ios_url text DEFAULT ''::text NOT NULL,
    android_url text DEFAULT ''::text NOT NULL,
    web_url text DEFAULT ''::text NOT NULL,
    sdk_key text NOT NULL COLLATE pg_catalog."C",
    server_key_hash text NOT NULL COLLATE pg_catalog."C",
    signing_secret text NOT NULL,
    settings jsonb NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.links (
    id text NOT NULL COLLATE pg_catalog."C",
    app_id text NOT NULL COLLATE pg_catalog."C",
    media_source text DEFAULT ''::text NOT NULL,
    campaign text DEFAULT ''::text NOT NULL,
    adset text DEFAULT ''::text NOT NULL,
    ad text DEFAULT ''::text NOT NULL,
    site_id text DEFAULT ''::text NOT NULL,
    channel text DEFAULT ''::text NOT NULL,
    ios_url text DEFAULT ''::text NOT NULL,
    android_url text DEFAULT ''::text NOT NULL,
    web_url text DEFAULT ''::text NOT NULL,
    deep_link_value text DEFAULT ''::text NOT NULL,
    created_at bigint NOT NULL
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    token_hash text NOT NULL COLLATE pg_catalog."C",
    user_id text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id text NOT NULL COLLATE pg_catalog."C",
    email text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    password_hash text DEFAULT ''::text NOT NULL,
    google_subject text COLLATE pg_catalog."C",
    created_at bigint NOT NULL
);


--
-- Data for Name: apps; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.apps VALUES ('app_2yiwjpk44kw6bswc', 'usr_a6i6nyamqy74a5kv', 'Owned', 'ios', 'com.example.owned', 'https://apps.apple.com/app/id1', 'https://play.google.com/x', 'https://example.com/', 'pk_mgjlTOil0aviqKjCeR2gHeKQBZSD9RRv', 'b1fa9adbd7adee27745d685a6df8b0940576809e76c07d6bc123512bbc475d93', 'ss_0PsOwr9CrJHXaFOchk9WRfa0cexa1BMP9oB8tQ4r', '{"ip_blocklist": ["203.0.113.0/24", "2001:db8::/32"], "min_ctit_seconds": 10, "require_signature": true, "max_event_age_days": 30, "reporting_currency": "USD", "click_lookback_days": 14, "fingerprint_enabled": true, "view_lookback_hours": 24, "rate_limit_per_second": 0, "fingerprint_window_hours": 24, "reattribution_window_days": 90}', 1796525096325762);
INSERT INTO public.apps VALUES ('app_h3ro634o255pgjjs', NULL, 'CLI', '', '', '', '', '', 'pk_mnIciqp2eTn1JBDJepzFci5PPIzIPtWU', 'd87e424a3ad874c678d37a2ff6c4bf7801470e2ed106ab88d82d2450159ae3dc', 'ss_w1LQ3KTIHXXQDKNqtOxIAFvgg9MS6dgzgBxnG9aa', '{"ip_blocklist": [], "min_ctit_seconds": 10, "require_signature": false, "max_event_age_days": 30, "reporting_currency": "USD", "click_lookback_days": 7, "fingerprint_enabled": true, "view_lookback_hours": 24, "rate_limit_per_second": 0, "fingerprint_window_hours": 24, "reattribution_window_days": 90}', 1796525096330567);


--
-- Data for Name: links; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.links VALUES ('lk_lodyzvs6m2rh5q2y', 'app_2yiwjpk44kw6bswc', 'network', 'c0', '', '', '', '', 'https://apps.apple.com/app/id1', '', '', 'promo', 1796525096351646);
INSERT INTO public.links VALUES ('lk_rwm2pqjjucty2kha', 'app_2yiwjpk44kw6bswc', 'network', 'c1', '', '', '', '', 'https://apps.apple.com/app/id1', '', '', 'promo', 1796525096366068);
INSERT INTO public.links VALUES ('lk_k2vyzfmexyuoerji', 'app_h3ro634o255pgjjs', 'network', 'c2', '', '', '', '', 'https://apps.apple.com/app/id1', '', '', 'promo', 1796525096375648);


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations VALUES (1, '0001_apps.sql', 1796525096226536);
INSERT INTO public.schema_migrations VALUES (2, '0002_links.sql', 1796525096249528);
INSERT INTO public.schema_migrations VALUES (3, '0003_users.sql', 1796525096304765);


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sessions VALUES ('95a7b6dbe37d31d65186e7e5843e86ea96a53cdf2958f1eacaf06aefb869989f', 'usr_a6i6nyamqy74a5kv', 1796525096383629, 4102444800000000);


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('usr_a6i6nyamqy74a5kv', 'ann@example.com', 'Ann', '$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', NULL, 1796525096307744);
INSERT INTO public.users VALUES ('usr_rflybjwn45nmg6yj', 'bob@example.com', 'Bob', '', 'g-1234567890', 1796525096320203);


--
-- Name: apps apps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apps
    ADD CONSTRAINT apps_pkey PRIMARY KEY (id);


--
-- Name: apps apps_sdk_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apps
    ADD CONSTRAINT apps_sdk_key_key UNIQUE (sdk_key);


--
-- Name: apps apps_server_key_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apps
    ADD CONSTRAINT apps_server_key_hash_key UNIQUE (server_key_hash);


--
-- Name: links links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.links
    ADD CONSTRAINT links_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (token_hash);


--
-- Name: users users_email_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_email_key UNIQUE (email);


--
-- Name: users users_google_subject_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_google_subject_key UNIQUE (google_subject);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: apps_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX apps_created_at ON public.apps USING btree (created_at, id);


--
-- Name: apps_owner_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX apps_owner_id ON public.apps USING btree (owner_id, created_at, id);


--
-- Name: links_app_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX links_app_id ON public.links USING btree (app_id, created_at, id);


--
-- Name: sessions_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_expires_at ON public.sessions USING btree (expires_at);


--
-- Name: sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_user_id ON public.sessions USING btree (user_id);


--
-- Name: apps apps_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.apps
    ADD CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users(id) ON DELETE SET NULL;


--
-- Name: links links_app_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.links
    ADD CONSTRAINT links_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.apps(id) ON DELETE CASCADE;


--
-- Name: sessions sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


