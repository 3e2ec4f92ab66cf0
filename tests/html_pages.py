"""Realistic municipal web pages, written for the tests and the extractor comparison (bench/html_extract.py).

Each has boilerplate a citation must never quote (cookie banner, menu, breadcrumb, footer, share
buttons) around content that must all be kept (headings, a list, a table, the contact details).
"""

from __future__ import annotations

NAV_WORDS = ("Cookie", "cookies", "Menu", "Zoeken", "Volg ons", "Privacyverklaring", "Deel deze pagina",
             "Nieuwsbrief", "Je bent hier", "Laatst bijgewerkt", "Huisvesting", "Recente berichten")

# A Drupal-style city page: semantic <main>, cookie banner first in the body.
DRUPAL = """<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Nederlands leren | Stad Lindegem</title>
<script>window.dataLayer=[];</script><style>.x{color:red}</style></head>
<body class="path-node">
<div id="sliding-popup" class="eu-cookie-compliance-banner" role="alertdialog">
  <p>Wij gebruiken cookies om de website te verbeteren. <button>Alle cookies aanvaarden</button>
  <a href="/privacy">Privacyverklaring</a></p></div>
<a href="#main-content" class="skip-link visually-hidden">Naar de inhoud</a>
<header class="site-header" role="banner"><a href="/"><img src="/logo.svg" alt="Stad Lindegem"></a>
  <nav role="navigation" aria-label="Hoofdmenu"><ul class="menu"><li><a href="/wonen">Wonen</a></li>
  <li><a href="/werken">Werken</a></li><li><a href="/welzijn">Welzijn en samenleven</a></li></ul></nav>
  <form class="search"><input type="search" placeholder="Zoeken"><button>Zoeken</button></form></header>
<nav class="breadcrumb" aria-label="Kruimelpad"><span>Je bent hier:</span> <a href="/">Home</a> &gt;
  <a href="/welzijn">Welzijn</a> &gt; Nederlands leren</nav>
<main id="main-content" role="main">
  <h1>Nederlands leren in Lindegem</h1>
  <p class="intro">Wil je Nederlands leren of oefenen? De stad helpt je op weg, ook als je net in Lindegem
  woont.</p>
  <h2>Taalcafé in de bibliotheek</h2>
  <p>Elke dinsdag van 14 tot 16 uur oefenen nieuwkomers hun Nederlands met vrijwilligers in de
  <strong>bibliotheek De Linde</strong>. Je hoeft niet in te schrijven.</p>
  <ul><li>Gratis en zonder inschrijving</li><li>Alle niveaus zijn welkom</li>
  <li>Koffie en thee van het huis</li></ul>
  <h2>Taalpremie</h2>
  <p>Wie slaagt voor een examen Nederlands, krijgt een taalpremie van de stad:</p>
  <table><thead><tr><th>Niveau</th><th>Premie</th></tr></thead>
  <tbody><tr><td>A2</td><td>75 euro</td></tr><tr><td>B2</td><td>200 euro</td></tr></tbody></table>
  <h2>Contact</h2>
  <p>Dienst Samenleven, Marktplein 3, 9999 Lindegem<br>samenleven@lindegem.example</p>
  <div class="share-buttons">Deel deze pagina: <a href="#">Facebook</a> <a href="#">LinkedIn</a></div>
</main>
<aside class="sidebar"><h2>Gerelateerd</h2><ul><li><a href="/inburgering">Inburgering</a></li></ul></aside>
<footer class="site-footer" role="contentinfo"><p>Stad Lindegem, Marktplein 1</p>
  <p>Volg ons op <a href="#">Facebook</a></p><ul class="menu--footer"><li><a href="/privacy">Privacyverklaring</a>
  </li><li><a href="/cookies">Cookies</a></li></ul>
  <div class="newsletter">Schrijf je in op de nieuwsbrief</div></footer>
</body></html>
"""

# A WordPress-style news post: no <main>, the content sits in an <article> among widgets.
WORDPRESS = """<!doctype html><html lang="nl-BE"><head><meta charset="UTF-8">
<title>Buddyproject voor nieuwkomers &#8211; Gemeente Oostveld</title></head>
<body class="post-template-default single">
<div id="page" class="site">
<header id="masthead" class="site-header"><div class="site-branding"><p class="site-title">Gemeente Oostveld</p></div>
<nav id="site-navigation" class="main-navigation"><button class="menu-toggle">Menu</button>
<div class="menu-hoofdmenu-container"><ul id="primary-menu"><li><a href="/">Home</a></li>
<li><a href="/nieuws">Nieuws</a></li><li><a href="/contact">Contact</a></li></ul></div></nav></header>
<div id="content" class="site-content"><div id="primary" class="content-area">
<article id="post-512" class="post-512 post type-post">
<header class="entry-header"><h1 class="entry-title">Buddyproject voor nieuwkomers gaat van start</h1>
<div class="entry-meta"><span class="posted-on">12 maart 2025</span></div></header>
<div class="entry-content">
<p>Vanaf april koppelt de gemeente Oostveld elke nieuwkomer die dat wil aan een buddy uit de buurt.
Samen gaan ze een half jaar lang maandelijks op stap: naar de markt, de sportclub of het gemeentehuis.</p>
<h3>Wie kan buddy worden?</h3>
<p>Iedere inwoner vanaf 18 jaar die een paar uur per maand vrijmaakt. Buddy&#8217;s krijgen vooraf een
vorming van twee avonden in het dienstencentrum De Kouter.</p>
<h3>Aanmelden</h3>
<ol><li>Vul het formulier in op het loket Welzijn.</li><li>Je krijgt binnen twee weken een
kennismakingsgesprek.</li></ol>
</div>
<footer class="entry-footer"><span class="cat-links">Geplaatst in Samenleven</span></footer>
<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Deel dit:</h3>
<ul><li><a href="#">Facebook</a></li><li><a href="#">X</a></li></ul></div>
</article>
<nav class="navigation post-navigation"><a href="/vorige">Vorig bericht</a></nav>
</div>
<aside id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">Zoeken</h2>
<form><input type="search"></form></section><section class="widget"><h2 class="widget-title">Recente berichten
</h2><ul><li><a href="#">Nieuw zwembad open</a></li></ul></section></aside></div>
<footer id="colophon" class="site-footer"><div class="site-info">&copy; 2025 Gemeente Oostveld.
Volg ons op Instagram.</div></footer></div>
<div id="cookie-notice" class="cookie-notice-container"><span>Deze site gebruikt cookies.</span>
<a class="button">Ok</a></div>
</body></html>
"""

# An old page made of layout tables and <font> tags, no semantic elements at all.
LEGACY = """<html><head><title>OCMW Westerloo - Onthaal</title>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>
<body bgcolor="#ffffff">
<table width="100%"><tr><td colspan="2"><img src="logo.gif"> <a href="index.html">Home</a> |
<a href="diensten.html">Diensten</a> | <a href="contact.html">Contact</a></td></tr>
<tr><td width="180" valign="top" class="menu"><a href="a.html">Onthaal</a><br><a href="b.html">Huisvesting</a><br>
<a href="c.html">Werk</a></td>
<td valign="top"><font size="5"><b>Onthaalbureau voor nieuwkomers</b></font><br><br>
Het OCMW van Westerloo opent op 1 september een onthaalbureau voor nieuwkomers in het Sociaal Huis.
Een maatschappelijk werker helpt bij de inschrijving, de huurwaarborg en de zoektocht naar een
huisarts.<br><br>
<b>Openingsuren</b><br>
Maandag en donderdag van 9 tot 12 uur, woensdag van 13 tot 17 uur.<br>
</td></tr>
<tr><td colspan="2" class="footer"><font size="1">&copy; OCMW Westerloo - Laatst bijgewerkt 2009</font></td></tr>
</table></body></html>
"""

# A page whose content area is empty: only chrome. Must be skipped as "no text", not indexed as menus.
EMPTY = """<!doctype html><html lang="nl"><head><title>Pagina niet gevonden</title></head><body>
<div class="cookie-banner">Wij gebruiken cookies. <button>OK</button></div>
<header class="site-header"><nav><ul class="menu"><li><a href="/">Home</a></li><li><a href="/nieuws">Nieuws</a></li>
</ul></nav></header><main id="main-content"></main>
<footer class="site-footer"><p>Volg ons op Facebook</p><p><a href="/privacy">Privacyverklaring</a></p></footer>
</body></html>
"""

PAGES = {"drupal": DRUPAL, "wordpress": WORDPRESS, "legacy": LEGACY}
# Content every extractor must keep, per page.
MUST_KEEP = {
    "drupal": ("Taalcafé in de bibliotheek", "Elke dinsdag van 14 tot 16 uur", "Alle niveaus zijn welkom",
               "B2", "200 euro", "Marktplein 3"),
    "wordpress": ("Buddyproject voor nieuwkomers gaat van start", "maandelijks op stap", "Wie kan buddy worden?",
                  "vorming van twee avonden", "kennismakingsgesprek"),
    "legacy": ("Onthaalbureau voor nieuwkomers", "huurwaarborg", "Openingsuren", "woensdag van 13 tot 17 uur"),
}
