/* wallboard.js - the supervisors' wallboard (statistics endpoints pending). */
"use strict";
document.addEventListener("DOMContentLoaded", () => Hotline.login(() => {}, "supervisor"));
